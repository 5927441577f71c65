"""The recipe study's settings: overrides on a dataset's base config, one row per setting.

Kept free of flags so that other tools (``experiments/g_regression.py``, the tests) can read
the table without declaring ``experiments/recipe_study.py``'s command-line flags.
"""

BASES = {"mnist": "configs/mnist.py"}
PAPER = {"train.lr_hyper": 5e-5, "train.lr_inr": 5e-4, "train.lr_disc": 3e-3,
         "train.r1_gamma": 10.0}
# The configs/mnist.py recipe before this study (issue 10): fast, and it collapses.
CURRENT = {"train.lr_hyper": 3e-4, "train.lr_inr": 2e-3, "train.lr_disc": 1e-3,
           "train.r1_gamma": 1.0}
MID = {"train.lr_hyper": 1e-4, "train.lr_inr": 1e-3, "train.lr_disc": 2e-3, "train.r1_gamma": 3.0}
SETTINGS = {
    "mnist": {
        "current": ("shipped before: G 3e-4/2e-3, D 1e-3, R1 1", CURRENT),
        "paper": ("the authors' rates: G 5e-5/5e-4, D 3e-3, R1 10", PAPER),
        "paper_map01": ("paper + mapping-layer lr x0.1",
                        {**PAPER, "train.lr_mapping_mult": 0.1}),
        "paper_gamma1": ("paper rates, R1 1", {**PAPER, "train.r1_gamma": 1.0}),
        "paper_b32": ("paper, batch 32 (half the steps)", {**PAPER, "train.batch_size": 32}),
        "paper_dwide": ("paper, D twice as wide (64 -> 128 channels)",
                        {**PAPER, "discriminator.channel_base": 2048,
                         "discriminator.channel_max": 128}),
        "dcgan": ("conv generator (pixels), paper rates, same D/loop",
                  {**PAPER, "model.generator": "conv", "model.conv_width": 256}),
        # Second round, around the faster `current` rates (which beat `paper` at 16 kimg).
        "current_ema": ("current + EMA ramp-up 0.25 (half-life 2 kimg from 8 kimg on)",
                        {**CURRENT, "train.ema_rampup": 0.25}),
        "current_mbstd8": ("current + minibatch-stddev group 8 (was 4)",
                           {**CURRENT, "discriminator.mbstd_group": 8}),
        "current_map01": ("current + mapping-layer lr x0.1",
                          {**CURRENT, "train.lr_mapping_mult": 0.1}),
        "current_b32": ("current, batch 32 (half the steps)",
                        {**CURRENT, "train.batch_size": 32}),
        "mid": ("between: G 1e-4/1e-3, D 2e-3, R1 3", MID),
        # Third round: every INR-GAN recipe above trails the conv baseline by ~8x in FD, so
        # test where the per-sample (hypernetwork) parameters' learning rate should sit.
        "current_hyper_eq": ("current, hypernetwork lr = shared INR lr (2e-3)",
                             {**CURRENT, "train.lr_hyper": 2e-3}),
        "current_hyper_lo": ("current, hypernetwork lr / 10 (3e-5)",
                             {**CURRENT, "train.lr_hyper": 3e-5}),
        # The INR's samples carry per-sample colour speckle: its to-RGB layers are predicted
        # whole per sample. Share them (or modulate a shared one by FMM).
        "current_rgb_shared": ("current, to-RGB layers shared", {**CURRENT, "model.to_rgb": "shared"}),
        "current_rgb_fmm": ("current, to-RGB layers FMM", {**CURRENT, "model.to_rgb": "fmm"}),
        "paper_rgb_shared": ("paper, to-RGB layers shared", {**PAPER, "model.to_rgb": "shared"}),
        # D separates INR samples far more easily than conv ones (logit gap ~3 vs ~0.4 under
        # the same rates): nearest upsampling of the 16 px block's RGB leaves 2x2 blocks.
        "current_bilinear": ("current, bilinear upsampling between blocks",
                             {**CURRENT, "model.upsample": "bilinear"}),
        # Per-sample Fourier frequencies change what the shared weights see with z.
        "current_linear_map": ("current, linear mapping w = Dense(z) (zero-mean code)",
                               {**CURRENT, "model.hyper_mapping": "linear"}),
        # Fourier scale 3 puts the frequencies at ~0.5 cycles per image: thin strokes need more.
        "current_fscale10": ("current, Fourier scale 10 (the paper's; was 3)",
                             {**CURRENT, "model.fourier_scale": 10.0}),
        "current_fourier_shared": ("current, Fourier frequencies shared (learned, not predicted)",
                                   {**CURRENT, "model.fourier_kind": "shared"}),
        # Fourth round: the per-sample INR itself. With W_s * 2 sigmoid(AB) and no
        # normalisation, each sample's activations scale with its own modulation; the
        # authors' later code modulates linearly and demodulates (StyleGAN2).
        "current_demod": ("current, FMM rows demodulated (sigmoid modulation)",
                          {**CURRENT, "model.fmm_demodulate": True}),
        "current_linmod_demod": ("current, W_s (1 + AB) demodulated (the authors' later FMM)",
                                 {**CURRENT, "model.fmm_modulation": "linear",
                                  "model.fmm_demodulate": True}),
        "current_logit01": ("current, FMM logit std 0.1 at init (was 1)",
                            {**CURRENT, "model.fmm_logit_std": 0.1}),
        # D reads the INR's artefacts (2x2 blocks, per-sample colour speckle on grey digits).
        "current_smooth": ("current, bilinear upsampling + FMM to-RGB",
                           {**CURRENT, "model.upsample": "bilinear", "model.to_rgb": "fmm"}),
        # The digit's layout is decided at 16 px, where the conv generator starts at 4 px:
        # a coarser first block at equal MACs (32.5M vs 32.6M).
        "current_3scale": ("current, blocks 8/16/32 px, widths 256/128/64, 2 layers each",
                           {**CURRENT, "model.block_resolutions": (8, 16, 32),
                            "model.block_widths": (256, 128, 64),
                            "model.block_depths": (2, 2, 2)}),
        # Shared Fourier frequencies are far worse than predicted ones: per-sample variation
        # may be starved. The predicted biases are the additive path from z (std 0.2 at init).
        "current_bias1": ("current, predicted-bias std 1.0 at init (was 0.2)",
                          {**CURRENT, "model.bias_std": 1.0}),
        # Mean-replacing each predicted tensor of a trained `current` G shows that the
        # per-sample Fourier frequencies carry nearly all of its variation over z (the FMM
        # factors and biases almost none): shared frequencies + a small per-sample offset.
        "current_foffset": ("current, shared Fourier frequencies + per-sample offset 0.1",
                            {**CURRENT, "model.fourier_kind": "offset"}),
        "current_foffset_bias1": ("current_foffset + predicted-bias std 1.0",
                                  {**CURRENT, "model.fourier_kind": "offset",
                                   "model.bias_std": 1.0}),
        # ... so give the FMM factors' and biases' connector rows faster steps (same init).
        "current_fmm_lr10": ("current, connector lr x10 for FMM factors and biases",
                             {**CURRENT, "model.fmm_lr_mult": 10.0, "model.bias_lr_mult": 10.0}),
        "current_fmm_lr3": ("current, connector lr x3 for FMM factors and biases",
                            {**CURRENT, "model.fmm_lr_mult": 3.0, "model.bias_lr_mult": 3.0}),
        # Beyond the paper: the conv generator's head start is a per-sample spatial map (its
        # first layer emits 4x4 features from z). A predicted G x G grid read bilinearly at
        # every point gives the INR the same, still as a function of continuous (x, y).
        "current_grid4": ("current + per-sample 4x4x16 latent grid in the first block",
                          {**CURRENT, "model.latent_grid": 4}),
        "current_grid8": ("current + per-sample 8x8x16 latent grid in the first block",
                          {**CURRENT, "model.latent_grid": 8}),
        # Fifth round: every recipe hops between modes at 16 kimg. Pay G for keeping latents
        # apart (diversity-sensitive loss, DSGAN / MSGAN), or give z more room (the paper's z).
        "current_div1": ("current + diversity-sensitive G loss, weight 1",
                         {**CURRENT, "train.diversity_weight": 1.0}),
        "current_div4": ("current + diversity-sensitive G loss, weight 4",
                         {**CURRENT, "train.diversity_weight": 4.0}),
        "current_div10": ("current + diversity-sensitive G loss, weight 10",
                          {**CURRENT, "train.diversity_weight": 10.0}),
        "current_div4_mbstd8": ("current_div4 + minibatch-stddev group 8",
                                {**CURRENT, "train.diversity_weight": 4.0,
                                 "discriminator.mbstd_group": 8}),
        "current_z512": ("current, z 512-d and hypernetwork 512 wide (was 128 / 256)",
                         {**CURRENT, "model.latent_dim": 512, "model.hyper_width": 512}),
        # Sixth round: D separates INR fakes far more easily than conv ones (logit gap 3 vs
        # 0.4) and G hops between modes. Momentum in Adam (DCGAN's b1 0.5) averages G's steps;
        # a slower D or slower shared INR weights make each step smaller; Fourier scale 3 beat
        # 10 at 32 px, so try a smoother basis still.
        "current_b1_05": ("current, Adam b1 0.5 for G and D (was 0)",
                          {**CURRENT, "train.adam_b1": 0.5}),
        "current_dlr3e4": ("current, D lr 3e-4 (was 1e-3)", {**CURRENT, "train.lr_disc": 3e-4}),
        "current_inr5e4": ("current, shared INR lr 5e-4 (was 2e-3)",
                           {**CURRENT, "train.lr_inr": 5e-4}),
        "current_fscale15": ("current, Fourier scale 1.5 (was 3)",
                             {**CURRENT, "model.fourier_scale": 1.5}),
        # The variation over z flows through a few per-sample frequencies (round 4): more of
        # them, at the same scale, spreads it over a wider basis.
        "current_nf64": ("current, 64 Fourier frequencies per block (was 16)",
                         {**CURRENT, "model.num_fourier": 64}),
        "current_div4_dlr3e4": ("current_div4 + D lr 3e-4 (the two round-5/6 changes)",
                                {**CURRENT, "train.diversity_weight": 4.0,
                                 "train.lr_disc": 3e-4}),
        # Full length: the diversity term early, faded out by 64 kimg (docs/training.md).
        "current_div4_fade64": ("current_div4, weight fading to 0 at 64 kimg",
                                {**CURRENT, "train.diversity_weight": 4.0,
                                 "train.diversity_fade_kimg": 64.0}),
        # Seventh round: D judges packs of images (PacGAN), so a pack of fakes from a
        # collapsed G is told from a pack of varied reals by D itself.
        "current_pack2": ("current, D judges packs of 2 images (PacGAN)",
                          {**CURRENT, "discriminator.pack": 2}),
        "current_pack4": ("current, D judges packs of 4 images (PacGAN; mbstd over 4 packs)",
                          {**CURRENT, "discriminator.pack": 4}),
        "current_div4_pack2": ("current_div4 + packs of 2 images",
                               {**CURRENT, "train.diversity_weight": 4.0,
                                "discriminator.pack": 2}),
        # The ReLU mapping's w has a large mean over z, so most of every predicted tensor is a
        # common mode (70-76 % at init) that each G step moves for all samples at once; tanh keeps
        # the non-linearity with zero-mean w (the linear mapping did too, without it: FD 310).
        "current_tanh_map": ("current, tanh mapping network (zero-mean w at init)",
                             {**CURRENT, "model.hyper_mapping": "tanh"}),
        # Eighth round. MNIST is grey, but G paints in colour: its fakes carry a colour cast
        # (1.3 grey levels from grey on average; the conv baseline 0.7; the data 0) that D can
        # read however good the strokes are. A grey G emits one channel for all three.
        "current_grey": ("current, grey generator (one output channel, repeated to RGB)",
                         {**CURRENT, "model.grey": True}),
        "dcgan_grey": ("conv generator, grey (one output channel)",
                       {**PAPER, "model.generator": "conv", "model.conv_width": 256,
                        "model.grey": True}),
        "current_div4_grey": ("current_div4 + grey generator",
                              {**CURRENT, "train.diversity_weight": 4.0, "model.grey": True}),
        # Most of the variation over z goes through the predicted frequencies (round 4), where
        # a small step re-draws the whole basis: slower steps there, same initial values.
        "current_flr03": ("current, predicted frequencies step x0.3 (`model.fourier_lr_mult`)",
                          {**CURRENT, "model.fourier_lr_mult": 0.3}),
        "current_flr01": ("current, predicted frequencies step x0.1",
                          {**CURRENT, "model.fourier_lr_mult": 0.1}),
        "current_div4_flr03": ("current_div4 + frequencies step x0.3",
                               {**CURRENT, "train.diversity_weight": 4.0,
                                "model.fourier_lr_mult": 0.3}),
        # Tenth round (the probe, round 10): with momentum G's optimiser steers 16 repeated
        # latents to 34 dB against 18 without (the conv: 37.5); D keeps b1 0. And a linear
        # output: under tanh the background saturates (|x| > 0.99 on 57 % of pixels after 300
        # probe steps), where a stroke D asks for gets 1/50 of the gradient.
        "current_gb1_09": ("current, G's Adam b1 0.9 (D keeps 0)",
                           {**CURRENT, "train.adam_b1_generator": 0.9}),
        "current_linout": ("current, linear output (no tanh; StyleGAN2's)",
                           {**CURRENT, "model.output_activation": "linear"}),
        # On 16 pairs a 3x slower hypernetwork steers better without momentum (22.8 dB against
        # 18.2): the b1-0 step oscillates at 3e-4.
        "current_hyper_1e4": ("current, hypernetwork lr 1e-4 (was 3e-4)",
                              {**CURRENT, "train.lr_hyper": 1e-4}),
        # Eleventh round: the class histogram hops between digits at 16 kimg (every sample
        # moves at once). The ReLU mapping's w has a large common mean, so each connector
        # step moves every sample's theta the same way; reference normalisation centres w.
        "current_refnorm": ("current, w centred/scaled over 256 fixed reference latents",
                            {**CURRENT, "model.hyper_ref_norm": 256}),
        # The centred w leaves the bias the only common-mode path, one lr per output where the
        # ReLU w moved it by lr * sum_j w_j (~150 lr at width 256): the bias multiplier gives
        # that speed back while the kernel keeps only what differs between samples.
        "current_refnorm_b16": ("current_refnorm, connector bias x16 (its Adam step x16)",
                                {**CURRENT, "model.hyper_ref_norm": 256,
                                 "model.hyper_bias_mult": 16.0}),
        "current_refnorm_b128": ("current_refnorm, connector bias x128 (its Adam step x128)",
                                 {**CURRENT, "model.hyper_ref_norm": 256,
                                  "model.hyper_bias_mult": 128.0}),
        # 71 % of current's EMA output values sit within 0.01 of +-1 (round 10), where tanh
        # passes < 2 % of D's gradient: G cannot draw a stroke where it painted background.
        # The floor lets that gradient through when it points out of saturation only.
        "current_gradfloor01": ("current, tanh's inward derivative floored at 0.1",
                                {**CURRENT, "model.output_grad_floor": 0.1}),
        "current_gradfloor03": ("current, tanh's inward derivative floored at 0.3",
                                {**CURRENT, "model.output_grad_floor": 0.3}),
        # Round 13: feature matching (Salimans et al. 2016) on D's last hidden layer, added to
        # the non-saturating loss: a batch of one digit is off the real batch's feature mean
        # whatever D's verdict per sample, so the term pulls G's batch towards the class mix.
        "current_fm1": ("current + feature matching on D's last hidden layer, weight 1",
                        {**CURRENT, "train.feature_matching_weight": 1.0}),
        "current_fm10": ("current + feature matching on D's last hidden layer, weight 10",
                         {**CURRENT, "train.feature_matching_weight": 10.0}),
        # Round 14: the class histogram hops from digit to digit (rounds 1-13), the limit
        # cycle of simultaneous gradient play; optimistic Adam (Daskalakis et al. 2018)
        # extrapolates each player's step, which damps such cycles in bilinear games.
        "current_omd1": ("current, optimistic Adam for G and D (optimism 1)",
                         {**CURRENT, "train.optimism": 1.0}),
        "current_omd05": ("current, optimistic Adam for G and D (optimism 0.5)",
                          {**CURRENT, "train.optimism": 0.5}),
        "current_aug": ("current + translation/cutout augmentation, ADA target 0.6",
                        {**CURRENT, "train.augment": "translation,cutout",
                         "train.ada_target": 0.6, "train.ada_kimg": 4.0}),
    },
}

ROUND1 = {"mnist": ("current", "paper", "paper_map01", "paper_gamma1", "paper_b32", "paper_dwide",
                    "dcgan")}

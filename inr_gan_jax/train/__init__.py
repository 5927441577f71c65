"""GAN training: discriminator, losses, optimisers, the jitted step, the loop, preemption, augmentation."""

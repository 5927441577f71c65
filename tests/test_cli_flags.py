"""Shared flag tables: idempotent definition, first definition wins, kinds honoured."""
from absl import flags
from absl.testing import absltest

from inr_gan_jax import cli_flags
from inr_gan_jax import evaluate
from inr_gan_jax import sample


class DefineMissingTest(absltest.TestCase):

  def test_idempotent_and_first_definition_wins(self):
    fv = flags.FlagValues()
    cli_flags.define_missing([("integer", "n", 3, "count"), ("string", "s", "a", "text")], fv)
    cli_flags.define_missing([("integer", "n", 9, "other"), ("float", "x", 0.5, "x")], fv)
    fv(["prog", "--n=7"])
    self.assertEqual((fv.n, fv.s, fv.x), (7, "a", 0.5))
    self.assertEqual(fv["n"].default, 3)

  def test_sample_and_evaluate_share_one_flag_table(self):
    fv = flags.FlagValues()
    sample.define_flags(fv)
    evaluate.define_flags(fv)
    sample.define_flags(fv)  # again: nothing raises, nothing is redefined
    names = {r[1] for r in sample._FLAGS} | {r[1] for r in evaluate._FLAGS}
    self.assertEqual(set(fv), names)

if __name__ == "__main__":
  absltest.main()

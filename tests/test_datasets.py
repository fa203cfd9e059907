"""The data policy: training and evaluation images never overlap; reports can't use training images."""

import pytest

from ref.data import datasets as D
from ref.core.errors import InputError


def test_training_and_evaluation_sets_are_disjoint():
    assert not set(D.TRAIN_NAMES) & set(D.EVAL_NAMES)
    assert len(D.TRAIN_NAMES) == 7


@pytest.mark.parametrize("name", D.TRAIN_NAMES)
def test_eval_image_refuses_training_images(name):
    with pytest.raises(InputError):
        D.eval_image(name)


def test_images_load_offline_with_expected_shapes():
    assert D.eval_image("hubble").shape == (872, 1000, 3)
    assert D.eval_image("moon").shape == (512, 512, 1)
    assert D.load_image("flower").shape == (427, 640, 3)
    with pytest.raises(InputError):
        D.load_image("kodim01")

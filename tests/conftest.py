"""Fixtures shared by the test modules."""

import pytest
import torch


@pytest.fixture
def one_thread():
    """One torch thread: CPU kernels may split their sums differently with more, and a recorded
    result is reproduced bit for bit only with the thread count it was recorded with."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)

"""SupCLLoss(gather=True) on 2 and 4 CPU processes (gloo), through a real
DistributedDataParallel model: every rank's value equals the single-process loss of the global
batch, and the parameters' gradients after DDP's averaging equal the single-process gradient
(float64, 1e-10), for every preset, the sigmoid form and the tiled mode; ranks hold different
numbers of instances. A bad batch on one rank is one error on every rank."""

import subprocess
import sys
from pathlib import Path

import pytest

from ssem_symbolic.loss import SupCLLoss

HELPERS = Path(__file__).resolve().parents[1] / "helpers"
sys.path.insert(0, str(HELPERS))
from distributed_worker import CONVENTIONS, global_batch, model  # noqa: E402

sys.path.pop(0)

import torch  # noqa: E402


@pytest.mark.slow
@pytest.mark.parametrize("world", [2, 4])
def test_ddp_parameters_get_the_single_process_gradient(world, tmp_path):
    done = subprocess.run([sys.executable, str(HELPERS / "distributed_worker.py"), str(world),
                           str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(world)]
    x, labels = global_batch()
    for convention in CONVENTIONS:
        for chunk in (None, 4):
            net = model()
            value = SupCLLoss(0.3, 0.5, convention, chunk_size=chunk)(net(x), labels)
            value.backward()
            for result in ranks:
                got_value, got_grads = result[(convention, chunk)]
                assert torch.allclose(got_value, value.detach(), rtol=0, atol=1e-10)
                for got, want in zip(got_grads, net.parameters()):
                    # not want / world: DDP's mean over ranks is undone by the gather
                    assert torch.allclose(got, want.grad, rtol=0, atol=1e-10), \
                        (convention, chunk, (got / want.grad).flatten()[:3])
    for result in ranks:  # a rank with another dimension: one clear error on every rank
        assert "same views, dimension and dtype" in result["mismatch"]
        assert "rank 1: views 2, dim 5" in result["mismatch"]
        assert result["empty"].startswith("gather=True: a rank's batch is invalid (rank 1: ")


def test_gather_without_torch_distributed_is_a_clear_error():
    z, labels = global_batch()
    with pytest.raises(ValueError, match="init_process_group"):
        SupCLLoss(0.3, 0.5, gather=True)(z, labels)


@pytest.mark.slow
def test_a_rank_that_never_calls_the_loss_is_an_error_not_a_hang(tmp_path):
    done = subprocess.run([sys.executable, str(HELPERS / "distributed_absent_rank.py"),
                           str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    message = (tmp_path / "rank0.txt").read_text()
    assert message.startswith("gather=True: not every rank called the loss within 2 s")
    assert "1" in message.split("(", 1)[1]  # torch names the missing rank


def test_gather_timeout_needs_gather():
    with pytest.raises(ValueError, match="gather_timeout needs gather=True"):
        SupCLLoss(0.3, 0.5, gather_timeout=5)

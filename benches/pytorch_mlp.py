#!/usr/bin/env python3
"""PyTorch reference for `gradlab bench`: the same MLP, batch, data and update, timed the same way.

Model: 784 -> hidden layers -> 10, one activation after every hidden layer, cross-entropy loss,
plain SGD (lr 0.01). Data: one synthetic batch of uniform [0, 1) images and labels i % 10, as
`gradlab bench` uses, so neither side measures its data loader. Three untimed warm-up steps,
then --steps timed steps; the clock stops after the last update has finished (CUDA: after a
synchronize). FLOPs counted as gradlab counts them: 6 * batch * (sum of weight-matrix sizes)
per step (forward 2, backward 4 multiply-adds per weight and sample).

  python3 benches/pytorch_mlp.py --depth 5 --width 1000 --batch 64
  python3 benches/pytorch_mlp.py --widths 128,64 --batch 64
  python3 benches/pytorch_mlp.py --device cuda --batch 256     # on a GPU machine

Prints one line, or one JSON object with --json (the fields of `gradlab --json bench`).
"""

import argparse
import json
import os
import time

import torch


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--depth", type=int, default=5, help="hidden layers")
    p.add_argument("--width", type=int, default=1000, help="units per hidden layer")
    p.add_argument("--widths", type=str, default=None, help="per-layer widths, e.g. 128,64")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=50, help="timed steps after 3 warm-up steps")
    p.add_argument("--activation", default="sigmoid", choices=["sigmoid", "tanh", "relu"])
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="CPU threads")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    widths = [int(w) for w in a.widths.split(",")] if a.widths else [a.width] * a.depth
    act = {"sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}[a.activation]
    layers, d_in = [], 784
    for w in widths:
        layers += [torch.nn.Linear(d_in, w), act()]
        d_in = w
    layers.append(torch.nn.Linear(d_in, 10))
    dev = torch.device(a.device)
    model = torch.nn.Sequential(torch.nn.Flatten(), *layers).to(dev)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()
    images = torch.rand(a.batch, 1, 28, 28, device=dev)
    labels = (torch.arange(a.batch, device=dev) % 10).long()

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize()

    for step in range(a.steps + 3):
        if step == 3:
            sync()
            start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(images), labels)
        loss.backward()
        opt.step()
    sync()
    secs = time.perf_counter() - start

    rate = a.steps * a.batch / secs
    weights = sum(m.weight.numel() for m in model if isinstance(m, torch.nn.Linear))
    gflops = 6 * weights * rate / 1e9
    shape = "784-" + "-".join(map(str, widths)) + "-10"
    if a.widths is None:
        shape = f"784-{a.width}x{a.depth}-10"
    device = f"pytorch-{dev.type}"
    if a.json:
        print(json.dumps({"model": shape, "batch": a.batch, "backend": device,
                          "threads": a.threads, "samples_per_s": rate, "gflops": gflops,
                          "torch": torch.__version__}))
    else:
        print(f"{shape} batch {a.batch} on {device} ({a.threads} threads, torch "
              f"{torch.__version__}): {rate:.0f} samples/s, {gflops:.1f} GFLOP/s "
              f"({a.steps} steps in {secs:.2f}s)")


if __name__ == "__main__":
    main()

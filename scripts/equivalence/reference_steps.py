"""Plain PyTorch eager reference for the harness's training core.

Run by `crates/repro/tests/pytorch_equivalence.rs`, which builds a network with
the harness (`repro::models::build`), trains it with the harness's own loop
(`repro::train::train_run`), and hands over, in a work directory:

  spec.json      the network (family and knobs), the learning rate of every
                 step, momentum, weight decay, the velocity convention, and the
                 variants to run with their steps;
  state_NNN.npz  the harness's parameters AND batch-norm buffers, by name,
                 before its step NNN (state_000: the initial weights; the last
                 one: after the last step);
  batches.npz    every mini-batch the harness trained on (x_000, y_000, ...),
                 already normalised and augmented, so the reference sees the
                 same batches and augmentation choices by construction.

This script rebuilds the same network in torch.nn from the papers' descriptions
(not from the harness's code: no band-matrix LRN, no flat SGD buffer), loads the
states by name (every name and shape must match, both ways) and takes the same
steps, teacher-forced and in float64 (see `train`). Per variant it writes
`result_<variant>.json` (tensor names; per step the loss and, per tensor, the
largest distance to the harness's next state, the largest change of the
harness's state in that step and its largest entry) and `result_<variant>.npz`
(its state after the last step). The test, not this script, decides what
agrees.

Variant `base` is the faithful reference. The other variants each change ONE
thing a re-implementation commonly gets wrong; the test checks that its
comparison rejects every one of them (the comparison can fail):

  momentum         SGD momentum 0.95 instead of 0.9
  wd-skip-bn       no weight decay on batch-norm gamma/beta (a common PyTorch
                   practice; Caffe and the harness decay every parameter)
  weight-decay     no weight decay at all
  bn-momentum      running stats updated with PyTorch momentum 0.9 (Keras's
                   "momentum" = 1 - PyTorch's, read as PyTorch's)
  bn-eps           batch-norm epsilon 1e-3 (Keras/TensorFlow default) not 1e-5
  shortcut-pad     option-A zero channels split before and after the identity
                   channels (the widespread PyTorch CIFAR re-implementation)
                   instead of appended after them
  pool-floor       pooling with padding 1 and floor rounding (same map sizes)
                   instead of cuda-convnet's unpadded ceil-mode windows
  lrn-torch        torch's nn.LocalResponseNorm with the paper's alpha: torch
                   divides alpha by the window size n, the paper does not
  velocity-outside PyTorch's velocity convention where the paper's is asked
  velocity-inside  the paper's velocity convention where PyTorch's is asked

Only torch and numpy are needed (the project's `.venv`, made by scripts/setup).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

VARIANTS = {
    "base", "momentum", "wd-skip-bn", "weight-decay", "bn-momentum", "bn-eps",
    "shortcut-pad", "pool-floor", "lrn-torch", "velocity-outside", "velocity-inside",
}


# ---------------------------------------------------------------- layers


def lrn_paper(a, n=5, k=2.0, alpha=1e-4, beta=0.75):
    """Krizhevsky et al. 2012, Sec. 3.3, exactly as printed:
    b^i = a^i / (k + alpha * sum_{j=max(0, i-n/2)}^{min(N-1, i+n/2)} (a^j)^2)^beta,
    with k = 2, n = 5, alpha = 1e-4, beta = 0.75. Channels beyond the ends are
    absent (zero-padded squares)."""
    c, half = a.shape[1], n // 2
    sq = F.pad(a.square(), (0, 0, 0, 0, half, half))
    window = sum(sq[:, j:j + c] for j in range(n))
    return a / (k + alpha * window).pow(beta)


def lrn_torch_builtin(a, n=5, k=2.0, alpha=1e-4, beta=0.75):
    """torch.nn.LocalResponseNorm given the paper's constants: torch averages the
    squares over the window (alpha / n), so this is the paper's formula with
    alpha / 5 -- the mistake the `lrn-torch` variant makes."""
    return F.local_response_norm(a, n, alpha=alpha, beta=beta, k=k)


def check_lrn_formulas():
    """Documents torch's formula: the built-in equals the paper's with alpha * n."""
    g = torch.Generator().manual_seed(0)
    a = 30.0 * torch.rand(2, 12, 3, 3, generator=g)
    paper = lrn_paper(a)
    assert torch.allclose(paper, lrn_torch_builtin(a, alpha=5e-4), rtol=1e-5, atol=1e-6)
    assert not torch.allclose(paper, lrn_torch_builtin(a), rtol=1e-3)


def batch_norm(c, variant):
    """nn.BatchNorm2d with PyTorch's defaults (eps 1e-5, momentum 0.1:
    running = 0.9 running + 0.1 batch, unbiased batch variance)."""
    eps = 1e-3 if variant == "bn-eps" else 1e-5
    momentum = 0.9 if variant == "bn-momentum" else 0.1
    return nn.BatchNorm2d(c, eps=eps, momentum=momentum)


# ---------------------------------------------------------------- networks


class Unit(nn.Module):
    """He et al. 2015, Fig. 5 left / Sec. 4.2: 3x3 conv, BN, ReLU, 3x3 conv, BN,
    plus the shortcut, then ReLU. Option A (Sec. 3.3): identity; where the maps
    halve and the filters double, the shortcut subsamples by 2 and pads the new
    channels with zeros."""

    def __init__(self, cin, planes, stride, variant):
        super().__init__()
        self.conv0 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn0 = batch_norm(planes, variant)
        self.conv1 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn1 = batch_norm(planes, variant)
        self.stride, self.extra, self.variant = stride, planes - cin, variant

    def shortcut(self, x):
        s = x[:, :, :: self.stride, :: self.stride]
        if self.extra == 0:
            return s
        if self.variant == "shortcut-pad":
            half = self.extra // 2
            return F.pad(s, (0, 0, 0, 0, half, self.extra - half))
        return F.pad(s, (0, 0, 0, 0, 0, self.extra))

    def forward(self, x):
        h = F.relu(self.bn0(self.conv0(x)))
        h = self.bn1(self.conv1(h))
        return F.relu(h + self.shortcut(x))


class CifarResNet(nn.Module):
    """He et al. 2015, Sec. 4.2: 3x3 conv (width filters), 3 stages of n units on
    32/16/8 maps with width, 2 width, 4 width filters, global average pooling,
    a `classes`-way fully connected layer; 6n + 2 weight layers."""

    def __init__(self, spec, variant):
        super().__init__()
        depth, width = spec["depth"], spec["width"]
        assert spec["residual"] and spec["shortcut"] == "A" and spec["block"] == "basic"
        n = (depth - 2) // 6
        self.stem = nn.Conv2d(3, width, 3, 1, 1, bias=False)
        self.stem_bn = batch_norm(width, variant)
        c = width
        for s in range(3):
            planes = width << s
            units = nn.ModuleDict()
            for b in range(n):
                units[f"unit{b + 1}"] = Unit(c, planes, 2 if s > 0 and b == 0 else 1, variant)
                c = planes
            setattr(self, f"stage{s + 1}", units)
        self.fc = nn.Linear(c, spec["classes"])

    def forward(self, x):
        h = F.relu(self.stem_bn(self.stem(x)))
        for s in range(3):
            for unit in getattr(self, f"stage{s + 1}").values():
                h = unit(h)
        return self.fc(F.adaptive_avg_pool2d(h, 1).flatten(1))


class CudaConvnet(nn.Module):
    """cuda-convnet's CIFAR-10 nets (layers-18pct and kin): conv layers with
    "same" padding, each followed by ReLU, LRN (the first `lrn_after` layers when
    on; Sec. 3.3 puts it after the ReLU, before pooling) and its pooling
    (size 3, stride 2, no padding, windows that overhang the edge kept:
    cuda-convnet's outputsX = ceil((imgSize - sizeX) / stride) + 1), then the
    fully connected layers."""

    def __init__(self, spec, variant):
        super().__init__()
        assert not spec["local_filters"] and spec["groups"] == 1 and spec["dropout"] == 0.0
        assert spec["activation"] == "relu" and spec["input_size"] == 32
        for per_layer in ("conv_kernels", "conv_strides", "conv_paddings", "conv_groups"):
            assert not spec.get(per_layer), f"no reference for per-layer {per_layer}"
        self.spec, self.variant = spec, variant
        c, s = 3, 32
        k = spec["conv_kernel"]
        for i, f in enumerate(spec["conv_filters"]):
            setattr(self, f"conv{i + 1}", nn.Conv2d(c, f, k, 1, k // 2))
            c = f
            if spec["pools"][i] != "none":
                s = -(-(s - spec["pool_size"]) // spec["pool_stride"]) + 1
        d = c * s * s
        widths = list(spec["fc_hidden"]) + [spec["classes"]]
        for i, h in enumerate(widths):
            setattr(self, f"fc{i + 1}", nn.Linear(d, h))
            d = h
        self.fcs = len(widths)

    def pool(self, h, kind):
        z, st = self.spec["pool_size"], self.spec["pool_stride"]
        pad, ceil = (1, False) if self.variant == "pool-floor" else (0, True)
        if kind == "max":
            return F.max_pool2d(h, z, st, pad, ceil_mode=ceil)
        # count_include_pad only matters for the padded variant; cuda-convnet's
        # overhanging windows average over the pixels they cover.
        return F.avg_pool2d(h, z, st, pad, ceil_mode=ceil, count_include_pad=False)

    def forward(self, x):
        h = x
        for i, kind in enumerate(self.spec["pools"]):
            h = F.relu(getattr(self, f"conv{i + 1}")(h))
            if self.spec["lrn"] and i < self.spec["lrn_after"]:
                h = lrn_torch_builtin(h) if self.variant == "lrn-torch" else lrn_paper(h)
            if kind != "none":
                h = self.pool(h, kind)
        h = h.flatten(1)
        for i in range(self.fcs):
            h = getattr(self, f"fc{i + 1}")(h)
            if i < self.fcs - 1:
                h = F.relu(h)
        return h


def build(model, variant):
    family = model["family"]
    if family == "cifar-resnet":
        return CifarResNet(model, variant)
    if family == "cuda-convnet":
        return CudaConvnet(model, variant)
    raise SystemExit(f"reference_steps.py: no reference for model family {family!r}")


# ---------------------------------------------------------------- state by name


def named_state(net):
    """Every parameter and buffer the harness has, by the harness's names
    (torch's `num_batches_tracked` has no counterpart: momentum is fixed)."""
    return {k: v for k, v in net.state_dict(keep_vars=True).items()
            if not k.endswith("num_batches_tracked")}


def set_state(net, state):
    """Sets every parameter and buffer to a harness state ({name: array}), by
    name (in place: the optimiser's velocity, keyed by the parameter objects,
    is kept). Every name must match, both ways, and every shape."""
    mine = named_state(net)
    missing = sorted(set(mine) - set(state))
    extra = sorted(set(state) - set(mine))
    if missing or extra:
        raise SystemExit(f"reference_steps.py: names differ; reference only: {missing}; harness only: {extra}")
    with torch.no_grad():
        for name, t in mine.items():
            src = torch.from_numpy(state[name])
            if tuple(src.shape) != tuple(t.shape):
                raise SystemExit(f"reference_steps.py: {name}: harness {tuple(src.shape)}, reference {tuple(t.shape)}")
            t.copy_(src)


# ---------------------------------------------------------------- training


def decays(name, variant):
    """Whether weight decay applies to the parameter `name` in this variant."""
    if variant == "weight-decay":
        return False
    if variant == "wd-skip-bn":
        return "bn" not in name.split(".")[-2]
    return True


class Sgd:
    """SGD with momentum and L2 weight decay (the gradient of wd/2 |w|^2 added
    to each gradient), in either velocity convention:
      lr-outside (PyTorch):        v = m v + (g + wd w);    w -= lr v
      lr-inside (Caffe, the papers): v = m v - lr (g + wd w); w += v
    lr-outside is torch.optim.SGD itself; lr-inside is written out."""

    def __init__(self, net, momentum, weight_decay, velocity, variant):
        self.velocity = {"velocity-outside": "lr-outside", "velocity-inside": "lr-inside"}.get(variant, velocity)
        named = list(net.named_parameters())
        self.m = 0.95 if variant == "momentum" else momentum
        on = [p for n, p in named if decays(n, variant)]
        off = [p for n, p in named if not decays(n, variant)]
        self.groups = [(on, weight_decay), (off, 0.0)]
        if self.velocity == "lr-outside":
            groups = [{"params": ps, "weight_decay": wd} for ps, wd in self.groups if ps]
            self.opt = torch.optim.SGD(groups, lr=0.0, momentum=self.m, dampening=0.0, nesterov=False)
        else:
            self.v = {id(p): torch.zeros_like(p) for _, p in named}

    def step(self, lr):
        if self.velocity == "lr-outside":
            for g in self.opt.param_groups:
                g["lr"] = lr
            self.opt.step()
            return
        with torch.no_grad():
            for ps, wd in self.groups:
                for p in ps:
                    v = self.v[id(p)]
                    v.mul_(self.m).sub_(lr * (p.grad + wd * p))
                    p.add_(v)


def max_abs(a):
    return float(np.abs(a).max()) if a.size else 0.0


def train(spec, batches, workdir, variant, steps):
    """Teacher-forced steps: before step t the network is set to the harness's
    state before its step t (`state_<t>.npz`; state_000 is the initial state), so
    rounding differences never compound (SGD on these nets is chaotic: a 1e-7
    change of the initial weights grows to ~1e-2 in the loss within 50 steps).
    The velocity is the reference's own, accumulated from its own gradients.
    Float64 throughout, as the harness is run for this comparison (in fp32 a
    pre-activation within rounding of zero flips its ReLU and moves that
    channel's gradient by up to ~100%); the loss in fp32, as the harness does.
    Returns the losses, per step and tensor the distances to the harness's next
    state, and the reference's state after the last step."""
    net = build(spec["model"], variant).double()
    state = lambda t: os.path.join(workdir, f"state_{t:03}.npz")
    harness = lambda t: dict(np.load(state(t)))
    prev = harness(0)
    set_state(net, prev)
    net.train()
    opt = Sgd(net, spec["momentum"], spec["weight_decay"], spec["velocity"], variant)
    names = sorted(named_state(net))
    losses, diff, step, scale = [], [], [], []
    for t, lr in enumerate(spec["lrs"][:steps]):
        if t > 0:
            set_state(net, prev)
        x = torch.from_numpy(batches[f"x_{t:03}"])
        y = torch.from_numpy(batches[f"y_{t:03}"])
        for p in net.parameters():
            p.grad = None
        # Mean over the batch, in fp32 from the logits, as the harness computes it
        # (precision::forward_aux casts the logits to fp32 in every precision).
        loss = F.cross_entropy(net(x).float(), y)
        loss.backward()
        opt.step(lr)
        losses.append(loss.item())
        nxt = harness(t + 1)
        mine = {k: v.detach().numpy() for k, v in named_state(net).items()}
        diff.append([max_abs(mine[k] - nxt[k]) for k in names])
        step.append([max_abs(nxt[k] - prev[k]) for k in names])
        scale.append([max_abs(nxt[k]) for k in names])
        prev = nxt
    final = {k: v.detach().contiguous().numpy().copy() for k, v in named_state(net).items()}
    return {"names": names, "losses": losses, "diff": diff, "step": step, "scale": scale}, final


def parse_variants(text, all_steps):
    """`base,momentum:4` -> [("base", all_steps), ("momentum", 4)]."""
    out = []
    for item in text.split(","):
        name, _, steps = item.partition(":")
        if name not in VARIANTS:
            raise SystemExit(f"reference_steps.py: unknown variant {name!r}; known: {sorted(VARIANTS)}")
        out.append((name, min(int(steps), all_steps) if steps else all_steps))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workdirs", nargs="+",
                    help="each holds spec.json, batches.npz, state_NNN.npz; its results go there")
    ap.add_argument("--variants", default=None,
                    help="comma-separated NAME or NAME:STEPS (default: all steps), instead of the "
                         "spec's `variants`; names: " + ", ".join(sorted(VARIANTS)))
    ap.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    check_lrn_formulas()
    for workdir in a.workdirs:
        with open(os.path.join(workdir, "spec.json")) as f:
            spec = json.load(f)
        if a.variants:
            variants = parse_variants(a.variants, len(spec["lrs"]))
        else:
            variants = parse_variants(",".join(f"{v}:{n}" for v, n in spec["variants"]), len(spec["lrs"]))
        batches = np.load(os.path.join(workdir, "batches.npz"))
        batches = {k: batches[k] for k in batches.files}
        for variant, steps in variants:
            report, final = train(spec, batches, workdir, variant, steps)
            with open(os.path.join(workdir, f"result_{variant}.json"), "w") as f:
                json.dump(report, f)
            np.savez(os.path.join(workdir, f"result_{variant}.npz"), **final)
        print(json.dumps({"workdir": workdir, "torch": torch.__version__, "threads": torch.get_num_threads(),
                          "variants": [f"{v}:{n}" for v, n in variants]}))


if __name__ == "__main__":
    sys.exit(main())

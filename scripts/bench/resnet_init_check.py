"""Which initialisation explains the ResNet-56 gap between the harness and a
plain PyTorch run (issue 18, part 5).

A held-back comparison trained ResNet-56 with the quick recipe in plain
PyTorch and found it far behind the harness (test error 73.0 / 61.2 / 55.9% at
iterations 300 / 600 / 900 against 62.5 / 47.5 / 32.6%). The step-equivalence
tests (crates/repro/tests/pytorch_equivalence.rs) show that the two training
loops agree step by step from the same weights, so what is left is the
initial weights. This script trains reference.py's CifarResNet with the
resnet-cifar-degradation quick recipe twice, from PyTorch's default init
(conv kaiming_uniform_(a=sqrt(5)), i.e. 1/6 of He's variance; fc bias
U(+-1/sqrt(fan_in))) and from the harness's (the paper's "as in [13]": He
normal, std sqrt(2 / (k*k*out_channels)); fc bias 0; BN gamma 1, beta 0), and
prints the test error at each evaluation as JSON lines.

The recipe, as experiments/resnet-cifar-degradation.toml's quick profile:
batch 128 from the 50k training images, per-pixel mean subtracted (0-255
scale), 4-pixel zero padding + random 32x32 crop + horizontal flip, SGD with
momentum 0.9 and weight decay 1e-4 on every parameter, lr 0.1 divided by 10 at
600 and 800, the velocity convention of the papers' code (lr inside the
velocity: v = m v - lr (g + wd w); w += v), 900 iterations, the 10k test
images at 300, 600 and 900.

Data: the harness's decoded cache (`data/cifar10-<sha16>.u8`, format in
crates/cifar10/src/cache.rs), written by any experiment binary's first run.
Needs nothing but torch. Usage:
  .venv/bin/python scripts/bench/resnet_init_check.py --cache data/cifar10-*.u8 \
      --depth 56 --init pytorch-default he --seed 1
"""
import argparse, json, math, os, struct, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import CifarResNet  # noqa: E402  (the benchmark's network)


def load_cache(path):
    raw = open(path, "rb").read()
    if raw[:8] != b"CIFAR10\x1a":
        sys.exit(f"{path}: not a cifar10 cache file (bad magic)")
    (version,) = struct.unpack_from("<I", raw, 8)
    if version != 1:
        sys.exit(f"{path}: cache format version {version}, expected 1")
    n_train, n_test = struct.unpack_from("<QQ", raw, 12)
    off = 8 + 4 + 16 + 32
    (label_len,) = struct.unpack_from("<I", raw, off)
    off += 4 + label_len
    label = raw[off - label_len : off].decode()
    buf = torch.frombuffer(bytearray(raw), dtype=torch.uint8)

    def take(n):
        nonlocal off
        t = buf[off : off + n]
        off += n
        return t

    x_train = take(n_train * 3072).view(n_train, 3, 32, 32)
    y_train = take(n_train).long()
    x_test = take(n_test * 3072).view(n_test, 3, 32, 32)
    y_test = take(n_test).long()
    return label, x_train, y_train, x_test, y_test


def init_weights(net, how):
    if how == "pytorch-default":
        return  # as constructed
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            bound = 1.0 / math.sqrt(m.in_features)
            nn.init.uniform_(m.weight, -bound, bound)
            nn.init.zeros_(m.bias)


def augment(x, gen):
    b = x.shape[0]
    padded = F.pad(x, (4, 4, 4, 4))
    oy = torch.randint(0, 9, (b,), generator=gen)
    ox = torch.randint(0, 9, (b,), generator=gen)
    flip = torch.randint(0, 2, (b,), generator=gen).bool()
    out = torch.stack([padded[i, :, oy[i] : oy[i] + 32, ox[i] : ox[i] + 32] for i in range(b)])
    out[flip] = out[flip].flip(3)
    return out


@torch.no_grad()
def test_error(net, x_test, y_test, mean):
    net.eval()
    wrong = 0
    for i in range(0, x_test.shape[0], 500):
        x = x_test[i : i + 500].float() - mean
        wrong += (net(x).argmax(1) != y_test[i : i + 500]).sum().item()
    net.train()
    return wrong / x_test.shape[0]


def train(args, how, data):
    label, x_train, y_train, x_test, y_test = data
    torch.manual_seed(args.seed)
    net = CifarResNet(args.depth)
    init_weights(net, how)
    mean = x_train.float().mean(0)
    params = list(net.parameters())
    velocity = [torch.zeros_like(p) for p in params]
    gen = torch.Generator().manual_seed(args.seed)
    n = x_train.shape[0]
    perm, pos = torch.randperm(n, generator=gen), 0
    t0 = time.time()
    for it in range(1, args.iterations + 1):
        if pos + args.batch > n:
            perm, pos = torch.randperm(n, generator=gen), 0
        idx = perm[pos : pos + args.batch]
        pos += args.batch
        x = augment(x_train[idx].float() - mean, gen)
        loss = F.cross_entropy(net(x), y_train[idx])
        net.zero_grad(set_to_none=False)
        loss.backward()
        lr = args.lr * (0.1 ** sum(it > d for d in args.lr_drops_at))
        with torch.no_grad():
            for p, v in zip(params, velocity):
                v.mul_(args.momentum).add_(p.grad + args.weight_decay * p, alpha=-lr)
                p.add_(v)
        if it % args.eval_every == 0:
            print(
                json.dumps(
                    {
                        "init": how,
                        "depth": args.depth,
                        "seed": args.seed,
                        "iteration": it,
                        "test_error": round(test_error(net, x_test, y_test, mean), 4),
                        "train_loss": round(loss.item(), 4),
                        "seconds": round(time.time() - t0, 1),
                        "dataset": label,
                        "torch": torch.__version__,
                        "threads": torch.get_num_threads(),
                    }
                ),
                flush=True,
            )


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", required=True, help="the harness's decoded CIFAR-10 cache (.u8)")
    ap.add_argument("--depth", type=int, default=56)
    ap.add_argument("--init", nargs="+", default=["pytorch-default", "he"], choices=["pytorch-default", "he"])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--iterations", type=int, default=900)
    ap.add_argument("--eval-every", type=int, default=300)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--lr-drops-at", type=int, nargs="*", default=[600, 800])
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    data = load_cache(args.cache)
    for how in args.init:
        train(args, how, data)


if __name__ == "__main__":
    main()

"""§7 总结: the notebook's lists, and the training runs behind every practical tip (7.1–7.5).

All tip experiments train here, in one process. Every configuration runs on the same 8 seeds
(data and initial weights), all seeds (and learning rates) of a configuration as one batched
ensemble in NumPy (experiments/ensemble.py); no TensorFlow. The subsections (tip_*.py) USE this result, and only measure and
plot the curves handed over in `arrays`, as "<group>/<variant>/<curve>" of shape (steps, seeds).
"""
from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits
from sklearn.datasets import make_circles, make_moons
from sklearn.model_selection import train_test_split

from experiments import ensemble as E
from experiments import tip_keras
from experiments.tip_common import paired_difference
from report.model import Context, Result, Table, listing_of

TITLE = "总结"
BN_MOMENTA = (0.0, 0.99)  # BN's moving averages: ours (full batch) and Keras' default
OPT_SIZES = (2, 16, 8, 1)  # §5's network
MOMENTUM = 0.9  # μ of SGD+Momentum
CHANCE = 0.55  # training accuracy at or below this: no better than guessing
ORDER = 7


def settings(quick: bool) -> dict:
    """Sizes chosen so that each effect shows clearly while the whole section stays fast."""
    if quick:
        return dict(seeds=(42, 43), deep_train=60, deep_test=40, depth=2, width=8, deep_steps=4, deep_every=2, deep_lr=0.05, adam_steps=20, adam_every=5, adam_lr=0.001,
                    small_std=0.01, drop_train=40, drop_val=40, drop_test=80, drop_width=16, drop_rate=0.5,
                    drop_steps=10, drop_every=2, drop_lr=0.01, opt_epochs=3, opt_batch=32, opt_train=120,
                    opt_val=60, opt_test=60, opt_lrs=(0.001, 0.01, 0.1), target=0.95, plateau=0.6)
    return dict(seeds=tuple(range(42, 50)), deep_train=350, deep_test=150, depth=6, width=32, deep_steps=60, deep_every=10, deep_lr=0.05, adam_steps=1000,
                adam_every=20, adam_lr=0.001, small_std=0.01, drop_train=100, drop_val=100, drop_test=400, drop_width=128,
                drop_rate=0.5, drop_steps=200, drop_every=10, drop_lr=0.01, opt_epochs=50, opt_batch=32,
                opt_train=350, opt_val=150, opt_test=500, opt_lrs=(0.001, 0.01, 0.1), target=0.95, plateau=0.6)


def split(x, y, sizes: dict[str, int], seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """训练集 / 验证集 / 测试集，按类别分层抽样。"""
    parts, rest = {}, (x, y)
    names = list(sizes)
    for name in names[:-1]:
        x_part, x_rest, y_part, y_rest = train_test_split(*rest, train_size=sizes[name], stratify=rest[1],
                                                          random_state=seed)
        parts[name], rest = (x_part, y_part), (x_rest, y_rest)
    parts[names[-1]] = rest
    return parts


def circles(seed: int, sizes: dict[str, int]):
    """§5 的数据：make_circles（噪声 0.1，内外圆半径比 0.5），每个随机种子一份。"""
    x, y = make_circles(n_samples=sum(sizes.values()), noise=0.1, factor=0.5, random_state=seed)
    return split(x, y, sizes, seed)


def moons(seed: int, sizes: dict[str, int]):
    """点少、噪声大的 make_moons：一个宽网络足以把训练点背下来。"""
    x, y = make_moons(n_samples=sum(sizes.values()), noise=0.25, random_state=seed)
    return split(x, y, sizes, seed)


def norm(a: np.ndarray) -> np.ndarray:
    """Frobenius norm of every member's matrix: (R, n, m) → (R,)."""
    return np.sqrt((a.astype(float) ** 2).sum(axis=(1, 2)))


def hidden_layer_statistics(ensemble: E.Ensemble, x, y) -> dict[str, np.ndarray]:
    """In training mode (BN uses the batch's statistics, as it does in training): ‖∂L/∂W‖ of every
    layer; per hidden layer ‖δ‖ (δ = ∂L/∂z, as in §4), the input-dependent part of the weight
    gradient ‖(a − ā)ᵀδ‖, the spread of z across samples (std per neuron, averaged over neurons)
    and the mean |z|. Each of shape (R, layers)."""
    logits, cache = ensemble.forward(x, training=True, update_statistics=False)
    grads = ensemble.backward(logits, y, cache)[:len(ensemble.kernels)]
    hidden = cache[:-1]
    centred = [(c["a_in"] - c["a_in"].mean(axis=1, keepdims=True)).transpose(0, 2, 1) @ c["dz"] for c in hidden]
    return {"grad_norms": np.stack([norm(g) for g in grads], 1),
            "delta_norms": np.stack([norm(c["dz"]) for c in hidden], 1),
            "centred_norms": np.stack([norm(g) for g in centred], 1),
            "z_std": np.stack([c["z"].std(axis=1).mean(axis=1) for c in hidden], 1),
            "z_abs": np.stack([np.abs(c["z"]).mean(axis=(1, 2)) for c in hidden], 1)}


def bias_gradients(ensemble: E.Ensemble, x, y) -> dict[str, np.ndarray]:
    """Largest |∂L/∂w| of each layer's kernel and of each layer's bias, in training mode: (R, layers)."""
    logits, cache = ensemble.forward(x, training=True, update_statistics=False)
    grads = ensemble.backward(logits, y, cache)
    kernels, biases = grads[:len(ensemble.kernels)], grads[len(ensemble.kernels):2 * len(ensemble.kernels)]
    return {"kernel_grad_max": np.stack([np.abs(g).max(axis=(1, 2)) for g in kernels], 1),
            "bias_grad_max": np.stack([np.abs(g).max(axis=(1, 2)) for g in biases], 1)}


def activation_spread(ensemble: E.Ensemble, x) -> np.ndarray:
    """Spread across samples of each hidden layer's output (std per neuron, averaged), before training: (R, layers)."""
    _, cache = ensemble.forward(x, training=False)
    return np.stack([c["a"].std(axis=1).mean(axis=1) for c in cache[:-1]], 1)


def kernel_rms(ensemble: E.Ensemble) -> np.ndarray:
    """Root mean square of every layer's kernel, shape (layers, R): how large the weights have grown."""
    return np.stack([np.sqrt((k.astype(float) ** 2).mean(axis=(1, 2))) for k in ensemble.kernels])


def kernel_tracker(ensemble: E.Ensemble):
    """track() for E.train: every layer's kernel RMS and its relative change ‖W_t − W_0‖ / ‖W_0‖,
    shape (2, layers, R)."""
    start = [k.astype(float).copy() for k in ensemble.kernels]

    def track(ens: E.Ensemble) -> np.ndarray:
        change = np.stack([norm(k - k0) / norm(k0) for k, k0 in zip(ens.kernels, start)])
        return np.stack([kernel_rms(ens), change])
    return track


def split_track(curves: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """"track" → kernel RMS ("track", evaluations × layers × R) and relative change ("weight_change")."""
    track = curves.pop("track")
    return curves | {"track": track[:, 0], "weight_change": track[:, 1]}


def by_variant(curves: dict[str, np.ndarray], variants: list[str], n_seeds: int) -> dict[str, dict[str, np.ndarray]]:
    """An ensemble's curves (steps, variants × seeds) split into {variant: {curve: (steps, seeds)}}."""
    return {v: {k: c[..., i * n_seeds:(i + 1) * n_seeds] for k, c in curves.items()} for i, v in enumerate(variants)}


def deep_runs(s) -> dict[str, dict[str, np.ndarray]]:
    """7.1 ReLU, 7.2 BN, 7.4 initialisation: the same deep network on §5's data, one switch at a time."""
    seeds = s["seeds"]
    data = E.stack_data([circles(seed, {"train": s["deep_train"], "test": s["deep_test"]}) for seed in seeds])
    sizes = (2,) + (s["width"],) * s["depth"] + (1,)
    sgd = dict(learning_rate=s["deep_lr"], momentum=MOMENTUM)  # SGD with momentum, full batch: one step per epoch
    groups = {  # ensemble: (structure, {variant: member settings})
        "sigmoid": (E.Net(sizes, "sigmoid"), {"sigmoid": {}}),
        # BN's moving averages with momentum 0 (ours) and 0.99 (Keras' default), kept side by side
        "bn": (E.Net(sizes, "sigmoid", batchnorm=True, bn_momenta=BN_MOMENTA), {"sigmoid_bn": {}}),
        "relu": (E.Net(sizes, "relu"), {"relu_small": dict(init=f"normal:{s['small_std']}"),
                                        "relu_xavier": dict(init="glorot_uniform"), "relu_he": dict(init="he_normal")}),
    }
    runs = {}
    for structure, variants in groups.values():
        members = [E.Member(seed, **(sgd | options)) for options in variants.values() for seed in seeds]
        ensemble = E.Ensemble(structure, members)
        reps = len(variants)
        x, y = (np.concatenate([a] * reps) for a in data["train"])
        before = hidden_layer_statistics(ensemble, x, y) | {"kernel_rms": kernel_rms(ensemble).T}
        if structure.activation == "relu":
            before["act_std"] = activation_spread(ensemble, x)
        reps_data = {p: tuple(np.concatenate([a] * reps) for a in xy) for p, xy in data.items()}
        curves = split_track(E.train(ensemble, reps_data, epochs=s["deep_steps"], evaluate_every=s["deep_every"],
                                     track=kernel_tracker(ensemble)))
        if structure.batchnorm:  # the end of training in both of BN's modes, on the training set; σ_B then
            curves |= bn_modes(ensemble, x, y)
            curves["z_std_end"] = hidden_layer_statistics(ensemble, x, y)["z_std"].T
        runs |= by_variant(curves | {k: v.T for k, v in before.items()}, list(variants), len(seeds))
    return runs


def bn_modes(ensemble: E.Ensemble, x, y) -> dict[str, np.ndarray]:
    """Accuracy on the training set in training mode (the batch's statistics) and in inference mode
    (the moving averages of each momentum), each of shape (1, R)."""
    out = {"training_mode_accuracy": ensemble.forward(x, training=True, update_statistics=False)[0]}
    for k, m in enumerate(ensemble.net.bn_momenta):
        out[f"inference_mode_accuracy_{m:g}"] = ensemble.forward(x, training=False, statistics=k)[0]
    return {name: E.member_accuracies(logits, y)[None].astype(float) for name, logits in out.items()}


def adam_runs(s) -> dict[str, dict[str, np.ndarray]]:
    """7.4: the N(0, 0.01²) ReLU network again, now with Adam (lr 0.001), full batch, many more steps."""
    seeds = s["seeds"]
    data = E.stack_data([circles(seed, {"train": s["deep_train"], "test": s["deep_test"]}) for seed in seeds])
    sizes = (2,) + (s["width"],) * s["depth"] + (1,)
    ensemble = E.Ensemble(E.Net(sizes, "relu", optimizer="adam"),
                          [E.Member(seed, init=f"normal:{s['small_std']}", learning_rate=s["adam_lr"]) for seed in seeds])
    start = {"kernel_rms": kernel_rms(ensemble)} | {k: v.T for k, v in bias_gradients(ensemble, *data["train"]).items()}
    curves = split_track(E.train(ensemble, {"train": data["train"]}, epochs=s["adam_steps"],
                                 evaluate_every=s["adam_every"], track=kernel_tracker(ensemble)))
    return {"relu_small_adam": curves | start}


def dropout_runs(s) -> dict[str, dict[str, np.ndarray]]:
    """7.3 Dropout: an over-sized network on few points, without and with Dropout (Adam, full batch)."""
    seeds = s["seeds"]
    sizes = {"train": s["drop_train"], "val": s["drop_val"], "test": s["drop_test"]}
    data = E.stack_data([moons(seed, sizes) for seed in seeds] * 2)
    members = [E.Member(seed, learning_rate=s["drop_lr"], dropout=rate) for rate in (0.0, s["drop_rate"])
               for seed in seeds]
    ensemble = E.Ensemble(E.Net((2, s["drop_width"], s["drop_width"], 1), "relu", dropout=True, optimizer="adam"),
                          members)
    curves = E.train(ensemble, data, epochs=s["drop_steps"], evaluate_every=s["drop_every"])
    return by_variant(curves, ["plain", "dropout"], len(seeds))


def optimizer_runs(s) -> dict[str, dict[str, np.ndarray]]:
    """7.5: §5's network (2 → 16 → 8 → 1, ReLU), mini-batches of 32; every optimiser with three learning rates."""
    seeds, lrs = s["seeds"], s["opt_lrs"]
    sizes = {"train": s["opt_train"], "val": s["opt_val"], "test": s["opt_test"]}
    splits = [circles(seed, sizes) for seed in seeds]
    runs = {}
    for optimizer, momenta in (("sgd", {"sgd": 0.0, "momentum": MOMENTUM}), ("adam", {"adam": 0.0})):
        variants = [(name, mu, lr) for name, mu in momenta.items() for lr in lrs]
        members = [E.Member(seed, learning_rate=lr, momentum=mu) for _, mu, lr in variants for seed in seeds]
        ensemble = E.Ensemble(E.Net(OPT_SIZES, "relu", optimizer=optimizer), members)
        curves = E.train(ensemble, E.stack_data(splits * len(variants)), epochs=s["opt_epochs"],
                         batch_size=s["opt_batch"], seed=seeds[0])
        runs |= by_variant(curves, [f"{name}_{lr:g}" for name, _, lr in variants], len(seeds))
    return runs


def describe(values: np.ndarray, fmt: str) -> str:
    """均值（最小–最大）；负号印成 U+2212，与正文一致。"""
    dash = " 至 " if np.min(values) < 0 else "–"  # "−1.0–8.5" would read as a subtraction
    text = f"{format(np.mean(values), fmt)}（{format(np.min(values), fmt)}{dash}{format(np.max(values), fmt)}）"
    return text.replace("-", "\u2212")


def run(ctx: Context) -> Result:
    s = settings(ctx.quick)
    # One BLAS thread: for matrices this small, threads cost more than they save (×4 slower with two).
    with threadpool_limits(1, user_api="blas"):
        groups = {"deep": deep_runs(s) | adam_runs(s), "drop": dropout_runs(s), "opt": optimizer_runs(s)}
    arrays = {f"{group}/{name}/{key}": np.asarray(value)
              for group, runs in groups.items() for name, curves in runs.items() for key, value in curves.items()}

    deep, drop, opt = groups["deep"], groups["drop"], groups["opt"]
    end = lambda run, key: run[key][-1]  # noqa: E731  one value per seed
    n = len(s["seeds"])
    held = lambda ok: f"{int(np.sum(ok))}/{n}"  # noqa: E731
    plain_gap = end(drop["plain"], "train_accuracy") - end(drop["plain"], "test_accuracy")
    drop_gap = end(drop["dropout"], "train_accuracy") - end(drop["dropout"], "test_accuracy")
    default = {"sgd": f"sgd_{E.KERAS_LR['sgd']:g}", "momentum": f"momentum_{E.KERAS_LR['sgd']:g}",
               "adam": f"adam_{E.KERAS_LR['adam']:g}"}
    rows = [
        ["ReLU 缓解梯度消失", f"{s['depth']} 个隐藏层：Sigmoid → ReLU", "训练集准确率",
         describe(end(deep["sigmoid"], "train_accuracy"), ".1%"),
         describe(end(deep["relu_xavier"], "train_accuracy"), ".1%"),
         held(end(deep["relu_xavier"], "train_accuracy") > end(deep["sigmoid"], "train_accuracy"))],
        ["批量归一化（BN）", f"{s['depth']} 个隐藏层的 Sigmoid 网络：加 BN", "训练集准确率",
         describe(end(deep["sigmoid"], "train_accuracy"), ".1%"),
         describe(end(deep["sigmoid_bn"], "train_accuracy"), ".1%"),
         held(end(deep["sigmoid_bn"], "train_accuracy") > end(deep["sigmoid"], "train_accuracy"))],
        ["Dropout 防止过拟合", f"{s['drop_train']} 个训练点：加 Dropout({s['drop_rate']:g})", "训练与测试准确率之差（个百分点）",
         describe(plain_gap * 100, ".1f"), describe(drop_gap * 100, ".1f"), held(drop_gap < plain_gap)],
        ["合理初始化", f"{s['depth']} 个隐藏层的 ReLU 网络：N(0, {s['small_std']:g}²) → He", "最终训练损失",
         describe(end(deep["relu_small"], "train_loss"), ".3f"), describe(end(deep["relu_he"], "train_loss"), ".3f"),
         held(end(deep["relu_he"], "train_loss") < end(deep["relu_small"], "train_loss"))],
        ["合适的优化器", "§5 的网络：SGD → SGD+Momentum（默认学习率）", "最终训练损失",
         describe(end(opt[default["sgd"]], "train_loss"), ".3f"),
         describe(end(opt[default["momentum"]], "train_loss"), ".3f"),
         held(end(opt[default["momentum"]], "train_loss") < end(opt[default["sgd"]], "train_loss"))],
        ["", "§5 的网络：SGD → Adam（默认学习率）", "最终训练损失",
         describe(end(opt[default["sgd"]], "train_loss"), ".3f"),
         describe(end(opt[default["adam"]], "train_loss"), ".3f"),
         held(end(opt[default["adam"]], "train_loss") < end(opt[default["sgd"]], "train_loss"))],
    ]
    table = Table("tips", ["实践技巧", "对比", "指标", "不用", "使用", "成立的随机种子数"], rows,
                  caption=f"每条实践技巧的对照实验，{n} 个随机种子的均值（最小–最大）；准确率与损失在推理模式下测量"
                          f"（BN 的移动平均动量为 {BN_MOMENTA[0]:g}，见 7.2 节）；详见 7.1–7.5 小节")
    metrics = {k: v for k, v in s.items() if isinstance(v, (int, float))}
    metrics["n_seeds"] = n
    metrics["keras_check_steps"] = E.KERAS_CHECK_STEPS
    metrics["keras_adam_steps"] = E.KERAS_ADAM_STEPS
    metrics["bn_epsilon"], metrics["bn_keras_momentum"], metrics["chance"] = E.BN_EPSILON, BN_MOMENTA[-1], CHANCE
    metrics["bn_momentum_ours"] = BN_MOMENTA[0]
    metrics["momentum"], metrics["opt_h1"], metrics["opt_h2"] = MOMENTUM, OPT_SIZES[1], OPT_SIZES[2]
    metrics["n_lrs"] = len(s["opt_lrs"])
    metrics |= {f"adam_{k}": v for k, v in E.ADAM.items()}
    metrics["first_seed"], metrics["last_seed"] = s["seeds"][0], s["seeds"][-1]
    gain = end(drop["dropout"], "test_accuracy") - end(drop["plain"], "test_accuracy")
    metrics |= paired_difference("drop_test_gain", 100 * gain)
    metrics["n_drop_test_better"] = int(np.sum(gain > 0))
    metrics["n_networks"] = sum(curves["step_loss"].shape[1] for runs in groups.values() for curves in runs.values())
    return Result(
        tables=[table],
        metrics=metrics,
        listings=[listing_of(E.train, "train", "所有技巧实验共用的训练循环（批量集成）"),
                  listing_of(tip_keras.keras_model, "keras_model", "Keras 中的对应写法（由 tests/test_ensemble.py 运行并核对）"),
                  listing_of(tip_keras.keras_optimizer, "keras_optimizer", "Keras 中的三种优化器（由测试运行）"),
                  # shown in the subsections that explain them
                  listing_of(E.batch_norm, "batch_norm", "BN 的训练模式与推理模式"),
                  listing_of(E.bn_backward, "bn_backward", "BN 的反向传播"),
                  listing_of(E.initial_kernel, "initial_kernel", "三种初始化"),
                  listing_of(E.sgd_update, "sgd_update", "SGD 与 SGD+Momentum 的一步更新"),
                  listing_of(E.adam_update, "adam_update", "Adam 的一步更新")],
        arrays=arrays,
    )

"""§7.4 Weight initialisation: a deep ReLU network with too-small, Xavier (Glorot) and He weights."""
from __future__ import annotations

from experiments.tip_common import final, plot_curves, plot_per_layer, runs_of, two_panels
from report.model import Context, Figure, Result

TITLE = "合理初始化权重（Xavier/He）"
ORDER = (7, 4)
USES = ("summary",)

LABELS = {"relu_small": "N(0, 0.01²)", "relu_xavier": "Xavier（Glorot）", "relu_he": "He"}


def run(ctx: Context) -> Result:
    runs = runs_of(ctx, "deep")
    fig, (left, right) = two_panels()
    plot_per_layer(left, runs, "act_stds", LABELS, "激活值标准差（对数坐标）", "训练前各隐藏层输出的标准差")
    plot_curves(right, runs, "train_loss", LABELS, "训练损失", "训练过程")
    fig.tight_layout()
    metrics = {}
    for name in LABELS:
        key = name.removeprefix("relu_")
        stds = runs[name]["act_stds"]
        metrics |= {f"{key}_std_first": float(stds[0]), f"{key}_std_last": float(stds[-1]),
                    f"{key}_train_loss": final(runs[name], "train_loss"),
                    f"{key}_train_accuracy": final(runs[name], "train_accuracy"),
                    f"{key}_grad_first": float(runs[name]["grad_norms"][0])}
        mid = len(runs[name]["train_loss"]) // 2  # halfway through training
        metrics[f"{key}_mid_loss"] = float(runs[name]["train_loss"][mid - 1])
    metrics["mid_epoch"] = len(runs["relu_he"]["train_loss"]) // 2
    metrics["n_hidden"] = len(runs["relu_he"]["act_stds"])
    return Result(
        figures=[Figure("init", fig, caption="三种初始化下的深层 ReLU 网络：左为训练前各层输出的标准差，右为训练损失",
                        alt="左图 N(0, 0.01²) 初始化的激活标准差逐层缩小几个数量级，Xavier 缓慢变小，He 基本保持；"
                            "右图小初始化的损失停在 0.69，另两种下降")],
        metrics=metrics,
    )

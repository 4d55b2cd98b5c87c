"""Training curves from mmengine's ``vis_data/scalars.json``.

mmengine's ``LocalVisBackend`` appends one JSON object per line. Lines that
``LoggerHook`` writes after a training iteration carry ``iter`` (the global
iteration) and ``step`` with the losses, ``lr``, ``time``...; lines written
after a validation epoch carry the metrics (``coco/bbox_mAP``, ``mIoU``...)
and ``step`` but no ``iter``. Their ``step`` is the iteration only with
``LoggerHook(log_metric_by_epoch=False)``; by default it is the epoch (and
stays 0 in iteration-based loops). So a validation line is placed at the
larger of its ``step`` and the last training iteration logged before it,
which puts every curve on the iteration axis whichever way the run logs.
"""
import json
import os.path as osp
from collections import Counter
from typing import Dict, List, Sequence, Tuple

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

Record = Dict[str, object]
Points = Tuple[List[int], List[float]]

SUBPLOT_SIZE = (6.0, 3.2)
DPI = 100


def read_scalars(path: str) -> List[Record]:
    """Read a ``scalars.json`` file.

    Args:
        path: File with one JSON object per line (blank lines skipped).

    Returns:
        The objects, in file order.

    Raises:
        ValueError: If a line is not a JSON object, naming file and line.
    """
    records = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f'{path}:{number}: not JSON ({error})') \
                    from None
            if not isinstance(record, dict):
                raise ValueError(f'{path}:{number}: expected a JSON object, '
                                 f'got {type(record).__name__}')
            records.append(record)
    return records


def is_training(record: Record) -> bool:
    """Whether ``record`` was logged after a training iteration."""
    return 'iter' in record


def logged_in_training(records: Sequence[Record], key: str) -> bool:
    """Whether a training line of ``records`` logs ``key``."""
    return any(is_training(r) and key in r for r in records)


def scalar_keys(records: Sequence[Record]) -> List[str]:
    """Keys with numeric values, excluding the position keys, sorted."""
    position = {'iter', 'step', 'epoch'}
    return sorted({
        key
        for record in records for key, value in record.items()
        if key not in position and isinstance(value, (int, float))
        and not isinstance(value, bool)
    })


def extract_series(records: Sequence[Record], key: str) -> Points:
    """Iterations and values of ``key``.

    A key logged by training lines (``loss``, ``lr``, ``time``...) is read
    from those only; ``time`` and ``data_time`` also appear on evaluation
    lines, as epoch averages, and are ignored there. Any other key comes
    from the evaluation lines.

    Args:
        records: Lines of one ``scalars.json``.
        key: Scalar name.

    Returns:
        ``(iterations, values)``, in logging order; empty when ``key`` is
        not logged.
    """
    if logged_in_training(records, key):
        training = [r for r in records if is_training(r) and key in r]
        return ([int(r['iter']) for r in training],
                [float(r[key]) for r in training])
    steps, values, last_iter = [], [], 0
    for record in records:
        if is_training(record):
            last_iter = int(record['iter'])
        elif key in record:
            steps.append(max(int(record.get('step', 0)), last_iter))
            values.append(float(record[key]))
    return steps, values


def run_names(paths: Sequence[str]) -> List[str]:
    """Legend names: the work dir of each ``WORK_DIR/TIMESTAMP/vis_data/
    scalars.json``, with the timestamp added where two runs share a work
    dir.

    Args:
        paths: ``scalars.json`` paths.

    Returns:
        One name per path.
    """
    parts = []
    for path in paths:
        folder = osp.dirname(osp.abspath(path))
        if osp.basename(folder) == 'vis_data':
            folder = osp.dirname(folder)
        parts.append((osp.basename(osp.dirname(folder)),
                      osp.basename(folder)))
    counts = Counter(work_dir for work_dir, _ in parts)
    return [
        f'{work_dir}/{stamp}' if counts[work_dir] > 1 else work_dir
        for work_dir, stamp in parts
    ]


def plot_curves(runs: Dict[str, Sequence[Record]],
                keys: Sequence[str]) -> Figure:
    """One subplot per key, one line per run, iterations on x.

    Series with a single point (a metric evaluated once) and evaluation
    metrics are drawn with markers.

    Args:
        runs: Records of each run, by legend name.
        keys: Scalars to draw.

    Returns:
        The figure, on an Agg canvas.

    Raises:
        KeyError: If no run logs one of ``keys``; the message lists the
            keys that are logged.
    """
    present = scalar_keys([r for records in runs.values() for r in records])
    unknown = [key for key in keys if key not in present]
    if unknown:
        raise KeyError(f'no run logs {", ".join(map(repr, unknown))}; '
                       f'logged keys: {", ".join(present)}')
    width, height = SUBPLOT_SIZE
    fig = Figure(figsize=(width, height * len(keys)), dpi=DPI)
    FigureCanvasAgg(fig)
    for row, key in enumerate(keys):
        ax = fig.add_subplot(len(keys), 1, row + 1)
        for name, records in runs.items():
            steps, values = extract_series(records, key)
            if not steps:
                continue
            metric = not logged_in_training(records, key)
            marker = 'o' if metric or len(steps) == 1 else None
            ax.plot(steps, values, marker=marker, label=name)
        ax.set_ylabel(key)
        ax.set_xlabel('iteration')
        ax.grid(alpha=0.3)
        ax.legend(fontsize='small')
    fig.tight_layout()
    return fig

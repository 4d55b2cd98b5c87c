"""Forward+backward time and peak memory of a block against a reference.

Each block's peak memory is measured in a fresh process of its own, so one
measurement's allocations never hide another's; a block and its reference
are timed in alternation in one fresh process, so that slow spells of the
machine hit both alike.

On CPU, where torch keeps no allocator statistics, memory is the growth of
the process's resident set at its peak during the first forward+backward
pass over the resident set just before it (inputs and weights already
allocated): the kernel's peak (``VmHWM``) is reset through
``/proc/self/clear_refs`` first, so earlier imports and builds cannot hide
it. On CUDA the allocator's own peak is used.
"""
import importlib
import multiprocessing as mp
import time
from dataclasses import dataclass
from functools import partial
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch


@dataclass
class Measurement:
    """Result of one benchmark case.

    Args:
        seconds: Fastest forward+backward wall time of the timed passes
            (the least disturbed by other work on the machine); a block and
            its reference are timed in alternation in one process.
        peak_mib: Extra memory at the peak of one forward+backward, MiB.
    """

    seconds: float
    peak_mib: float


def _proc_status_mib(field: str) -> float:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f'/proc/self/status has no {field}')


def _reset_peak_rss() -> None:
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')  # resets VmHWM to the current resident set


def _build(factory: str, args: tuple, device: str,
           training: bool = True) -> torch.nn.Module:
    module_name, _, func = factory.rpartition(':')
    block = getattr(importlib.import_module(module_name), func)(*args)
    block.to(device).train(training)  # mmdet's ResNet.train returns None
    return block


def _timed(call: Callable[[], object], device: str) -> float:
    """Wall time of ``call()``, with the device's queue drained around it."""
    if device == 'cuda':
        torch.cuda.synchronize()
    start = time.perf_counter()
    call()
    if device == 'cuda':
        torch.cuda.synchronize()
    return time.perf_counter() - start


def _fastest(steps: Sequence[Callable[[], float]],
             repeats: int) -> List[float]:
    """Run each step once to warm up, then ``repeats`` times in
    alternation (so slow spells hit all alike); the fastest time of each.

    Args:
        steps: Callables returning the wall time of one run.
        repeats: Timed runs of each step.
    """
    for step in steps:
        step()
    best = [float('inf')] * len(steps)
    for _ in range(repeats):
        for i, step in enumerate(steps):
            best[i] = min(best[i], step())
    return best


def _step(block: torch.nn.Module, x: torch.Tensor, device: str) -> float:
    """One forward+backward pass; returns its wall time."""
    elapsed = _timed(lambda: block(x).sum().backward(), device)
    x.grad = None
    block.zero_grad(set_to_none=True)
    return elapsed


def _peak(factory: str, args: tuple, shape: Tuple[int, ...], device: str,
          threads: int) -> float:
    """Extra memory (MiB) at the peak of a first forward+backward pass."""
    if threads:
        torch.set_num_threads(threads)
    block = _build(factory, args, device)
    x = torch.randn(shape, device=device, requires_grad=True)
    if device == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        _step(block, x, device)
        return (torch.cuda.max_memory_allocated() - base) / 2**20
    _reset_peak_rss()
    base = _proc_status_mib('VmRSS')
    _step(block, x, device)
    return _proc_status_mib('VmHWM') - base


def _times(factories: Sequence[Tuple[str, tuple]], shape: Tuple[int, ...],
           repeats: int, device: str, threads: int) -> List[float]:
    """Fastest pass of each block, timed in alternation in one process so
    that every block sees the same machine conditions."""
    if threads:
        torch.set_num_threads(threads)
    blocks = [_build(f, a, device) for f, a in factories]
    x = torch.randn(shape, device=device, requires_grad=True)
    return _fastest([partial(_step, block, x, device) for block in blocks],
                    repeats)


def measure(factory: str,
            args: Sequence = (),
            shape: Tuple[int, ...] = (2, 256, 64, 64),
            repeats: int = 3,
            device: str = 'cpu',
            threads: int = 0,
            reference: Optional[Tuple[str, Sequence]] = None
            ) -> Tuple[Measurement, Optional[Measurement]]:
    """Time and measure a block (and its reference) in fresh processes.

    Peak memory of each block comes from a process of its own; the times of
    the block and its reference come from one process that alternates them.

    Args:
        factory: ``'module.path:function'`` returning the block (imported
            in the child process).
        args: Positional arguments of the factory.
        shape: Input shape.
        repeats: Timed passes of each block after a warm-up pass.
        device: ``'cpu'`` or ``'cuda'``.
        threads: torch threads in the child; 0 keeps torch's default.
        reference: ``(factory, args)`` of a reference block, or ``None``.

    Returns:
        ``(ours, reference)`` measurements; the second is ``None`` without a
        reference.
    """
    pairs = [(factory, tuple(args))]
    if reference is not None:
        pairs.append((reference[0], tuple(reference[1])))
    times = _in_fresh_process(_times, pairs, tuple(shape), repeats, device,
                              threads)
    peaks = [
        _in_fresh_process(_peak, f, a, tuple(shape), device, threads)
        for f, a in pairs
    ]
    results = [Measurement(t, p) for t, p in zip(times, peaks)]
    return results[0], (results[1] if reference is not None else None)


def _in_fresh_process(func: Callable, *args):
    with mp.get_context('spawn').Pool(1) as pool:
        return pool.apply(func, args)


def _latency(config: str, hw: Tuple[int, int], repeats: int,
             device: str) -> float:
    from .inference import build_model, load_config
    cfg = load_config(config)
    torch.manual_seed(0)
    model = build_model(cfg).to(device)
    if cfg.default_scope == 'mmdet':
        from mmdet.structures import DetDataSample as Sample
    else:
        from mmseg.structures import SegDataSample as Sample
    height, width = hw
    meta = dict(img_shape=hw, ori_shape=hw, pad_shape=hw,
                scale_factor=(1., 1.))
    batch = dict(
        inputs=[torch.randint(0, 256, (3, height, width), dtype=torch.uint8)],
        data_samples=[Sample(metainfo=meta)])
    with torch.no_grad():
        return _fastest(
            [partial(_timed, partial(model.test_step, batch), device)],
            repeats)[0]


def measure_latency(config: str,
                    hw: Tuple[int, int] = (800, 1333),
                    repeats: int = 3,
                    device: str = 'cpu') -> float:
    """Fastest inference time of the model a config builds, one image.

    Args:
        config: Config file path.
        hw: Image height and width.
        repeats: Timed runs after one warm-up run.
        device: ``'cpu'`` or ``'cuda'``.

    Returns:
        Seconds per image (random weights and input: the architecture's
        cost, detections included).
    """
    return _in_fresh_process(_latency, config, tuple(hw), repeats, device)


def _forward_times(factories: Sequence[Tuple[str, tuple]],
                   shape: Tuple[int, ...], repeats: int, device: str,
                   threads: int) -> List[float]:
    """Fastest eval-mode, no-grad forward of each module, timed in
    alternation in one process."""
    if threads:
        torch.set_num_threads(threads)
    modules = [_build(f, a, device, training=False) for f, a in factories]
    x = torch.randn(shape, device=device)
    with torch.no_grad():
        steps = [partial(_timed, partial(m, x), device) for m in modules]
        return _fastest(steps, repeats)


def measure_forward(factories: Sequence[Tuple[str, Sequence]],
                    shape: Tuple[int, ...] = (1, 3, 512, 512),
                    repeats: int = 3,
                    device: str = 'cpu',
                    threads: int = 0) -> List[float]:
    """Inference time of modules (e.g. backbones) on one input.

    All modules are built in one fresh process and timed in alternation, so
    that slow spells of the machine hit them alike.

    Args:
        factories: ``(factory, args)`` pairs as in :func:`measure`.
        shape: Input shape.
        repeats: Timed forwards of each module after a warm-up forward.
        device: ``'cpu'`` or ``'cuda'``.
        threads: torch threads in the child; 0 keeps torch's default.

    Returns:
        Seconds of the fastest eval-mode, no-grad forward of each module.
    """
    return _in_fresh_process(_forward_times,
                             [(f, tuple(a)) for f, a in factories],
                             tuple(shape), repeats, device, threads)


@dataclass
class Comparison:
    """One row: a block against its reference at one shape.

    Args:
        name: Row label.
        shape: Input shape.
        ours: ``(factory, args)`` of our block.
        reference: ``(factory, args)`` of the reference, or ``None``.
        time_target: Largest acceptable time ratio, if any.
        memory_target: Largest acceptable memory ratio, if any.
    """

    name: str
    shape: Tuple[int, ...]
    ours: Tuple[str, tuple]
    reference: Optional[Tuple[str, tuple]] = None
    time_target: Optional[float] = None
    memory_target: Optional[float] = None


def run_comparisons(rows: Sequence[Comparison],
                    repeats: int = 3,
                    device: str = 'cpu',
                    log: Callable[[str], None] = print) -> List[Dict]:
    """Measure every row, logging each as a table row when done.

    Args:
        rows: The comparisons to run.
        repeats: Timed passes per measurement.
        device: ``'cpu'`` or ``'cuda'``.
        log: Receives one formatted table row per comparison.

    Returns:
        One dict per row with both measurements and, where there is a
        reference, ``time_ratio`` and ``memory_ratio``.
    """
    results = []
    for row in rows:
        ours, ref = measure(*row.ours, shape=row.shape, repeats=repeats,
                            device=device, reference=row.reference)
        result = dict(name=row.name, shape=row.shape, ours=ours, ref=ref,
                      time_target=row.time_target,
                      memory_target=row.memory_target)
        if ref is not None:
            result['time_ratio'] = ours.seconds / ref.seconds
            result['memory_ratio'] = ours.peak_mib / max(ref.peak_mib, 1e-6)
        results.append(result)
        log(format_row(result))
    return results


def _verdict(ratio: float, target: float) -> str:
    if target is None:
        return ''
    return f' (target <= {target}: {"ok" if ratio <= target else "MISSED"})'


def format_row(result: Dict) -> str:
    """One markdown table row for a result of :func:`run_comparisons`."""
    ours, ref = result['ours'], result['ref']
    shape = 'x'.join(map(str, result['shape']))
    if ref is None:
        return (f'| {result["name"]} | {shape} | {ours.seconds * 1e3:.1f} | '
                f'- | - | {ours.peak_mib:.0f} | - | - |')
    time_cell = f'{result["time_ratio"]:.2f}' + _verdict(
        result['time_ratio'], result['time_target'])
    memory_cell = f'{result["memory_ratio"]:.2f}' + _verdict(
        result['memory_ratio'], result['memory_target'])
    return (f'| {result["name"]} | {shape} | {ours.seconds * 1e3:.1f} | '
            f'{ref.seconds * 1e3:.1f} | {time_cell} | {ours.peak_mib:.0f} | '
            f'{ref.peak_mib:.0f} | {memory_cell} |')


TABLE_HEADER = ('| block vs reference | input | ours ms | ref ms | time ratio '
                '| ours MiB | ref MiB | memory ratio |\n'
                '|---|---|---|---|---|---|---|---|')

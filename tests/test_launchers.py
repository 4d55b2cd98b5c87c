"""The launcher scripts build the commands mmdet users expect: Slurm's
srun line (tools/slurm_*.sh) and torchrun's (tools/dist_*.sh), run here with
stub ``srun``/``python`` executables that record their arguments and
environment instead of starting anything."""
import os
import os.path as osp
import stat
import subprocess

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TOOLS = osp.join(ROOT, 'tools')
STUB = """#!/usr/bin/env bash
printf '%s\\0' "$@" > "$STUB_DIR/argv"
env -0 > "$STUB_DIR/env"
"""


@pytest.fixture
def stubs(tmp_path):
    """A folder with recording ``srun`` and ``python`` stubs, and a function
    that runs a tools/ script with it first on PATH and returns the stub's
    argv and environment."""
    for name in ('srun', 'python'):
        path = tmp_path / name
        path.write_text(STUB)
        path.chmod(path.stat().st_mode | stat.S_IEXEC)

    def run(script, *args, **env_vars):
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ('GPUS', 'GPUS_PER_NODE', 'CPUS_PER_TASK',
                           'SRUN_ARGS', 'PYTHON', 'NNODES', 'NODE_RANK',
                           'MASTER_ADDR', 'PORT')
        }
        env.update(env_vars, STUB_DIR=str(tmp_path),
                   PATH=f'{tmp_path}{os.pathsep}{env["PATH"]}')
        proc = subprocess.run(['bash', osp.join(TOOLS, script), *args],
                              env=env, capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 0, proc.stderr
        argv = (tmp_path / 'argv').read_text().split('\0')[:-1]
        lines = (tmp_path / 'env').read_text().split('\0')[:-1]
        return argv, dict(line.split('=', 1) for line in lines)

    return run


def srun_line(partition, job, gpus, per_node, cpus, extra=()):
    return [
        '-p', partition, f'--job-name={job}', f'--gres=gpu:{per_node}',
        f'--ntasks={gpus}', f'--ntasks-per-node={per_node}',
        f'--cpus-per-task={cpus}', '--kill-on-bad-exit=1', *extra
    ]


def test_slurm_train_defaults(stubs):
    argv, _ = stubs('slurm_train.sh', 'gpu', 'gc', 'configs/a.py', 'wd')
    assert argv == srun_line('gpu', 'gc', 8, 8, 5) + [
        'python', '-u', osp.join(TOOLS, 'train.py'), 'configs/a.py',
        '--work-dir=wd', '--launcher=slurm'
    ]


def test_slurm_train_overrides(stubs):
    argv, env = stubs(
        'slurm_train.sh', 'p1', 'job 1', 'a b.py', 'w d', '--resume',
        '--cfg-options', 'x=1', 'y=a b', GPUS='16', GPUS_PER_NODE='4',
        CPUS_PER_TASK='2', SRUN_ARGS='--quotatype=auto  --time=1:00:00',
        PYTHON='/opt/py', MASTER_PORT='29511')
    assert argv == srun_line('p1', 'job 1', 16, 4, 2,
                             ['--quotatype=auto', '--time=1:00:00']) + [
        '/opt/py', '-u', osp.join(TOOLS, 'train.py'), 'a b.py',
        '--work-dir=w d', '--resume', '--cfg-options', 'x=1', 'y=a b',
        '--launcher=slurm'
    ]
    assert env['MASTER_PORT'] == '29511'


def test_slurm_gpus_per_node_follows_small_jobs(stubs):
    argv, _ = stubs('slurm_train.sh', 'p', 'j', 'c.py', 'w', GPUS='2')
    assert '--ntasks=2' in argv and '--ntasks-per-node=2' in argv
    assert '--gres=gpu:2' in argv


def test_slurm_test(stubs):
    argv, _ = stubs('slurm_test.sh', 'p', 'j', 'c.py', 'ck.pth', '--out',
                    'r.pkl', GPUS='4', CPUS_PER_TASK='3')
    assert argv == srun_line('p', 'j', 4, 4, 3) + [
        'python', '-u', osp.join(TOOLS, 'test.py'), 'c.py', 'ck.pth',
        '--out', 'r.pkl', '--launcher=slurm'
    ]


@pytest.mark.parametrize('script', ['slurm_train.sh', 'slurm_test.sh'])
def test_slurm_usage_error(script):
    proc = subprocess.run(['bash', osp.join(TOOLS, script), 'p', 'j', 'c'],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and 'usage:' in proc.stderr


def torchrun_line(nnodes, rank, addr, port, nproc):
    return [
        '-m', 'torch.distributed.run', f'--nnodes={nnodes}',
        f'--node_rank={rank}', f'--master_addr={addr}',
        f'--master_port={port}', f'--nproc_per_node={nproc}'
    ]


def test_dist_train_single_node(stubs):
    argv, _ = stubs('dist_train.sh', 'c.py', '2', '--work-dir', 'w')
    assert argv == torchrun_line(1, 0, '127.0.0.1', 29500, 2) + [
        osp.join(TOOLS, 'train.py'), 'c.py', '--launcher', 'pytorch',
        '--work-dir', 'w'
    ]


def test_dist_test_multi_node(stubs):
    argv, _ = stubs('dist_test.sh', 'c.py', 'ck.pth', '8', '--out', 'r.pkl',
                    NNODES='2', NODE_RANK='1', MASTER_ADDR='10.0.0.1',
                    PORT='29600')
    assert argv == torchrun_line(2, 1, '10.0.0.1', 29600, 8) + [
        osp.join(TOOLS, 'test.py'), 'c.py', 'ck.pth', '--launcher',
        'pytorch', '--out', 'r.pkl'
    ]

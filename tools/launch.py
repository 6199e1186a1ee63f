"""Start MXNet parameter-server training: a scheduler, servers and workers, on this machine or over SSH.

    python tools/launch.py -n 2 -s 1 -- python tools/train.py --config configs/movielens_mf.yaml \\
        --out runs/mf-dist train.kvstore=dist_sync
    python tools/launch.py -n 4 -s 2 --hosts hosts.txt -- python tools/train.py ...   # over SSH

Each worker runs the command with the DMLC variables set (DMLC_ROLE, DMLC_PS_ROOT_URI, DMLC_PS_ROOT_PORT,
DMLC_NUM_SERVER, DMLC_NUM_WORKER); the scheduler and servers are ``python -c "import mxnet"``, which serves until
the workers finish. Without --hosts everything binds to 127.0.0.1. With --hosts (one ``[user@]host`` a line)
servers and workers go round-robin over the hosts by ``ssh -o BatchMode=yes``, in the same directory, with the
same Python path; the scheduler runs here and must be reachable from them at --scheduler-host.

The launch succeeds when every worker exits with 0 and the servers and scheduler then exit by themselves. If any
process fails or dies, or --timeout passes, the others are stopped and the launch exits with 1 (124 on timeout)
naming the process: a dead worker would otherwise leave the rest waiting forever in a synchronous step.
(MXNet's own tools/launch.py does not run on Python 3.11 and binds to the host's address.)
"""
import argparse
import os
import shlex
import signal
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class LaunchError(RuntimeError):
    def __init__(self, message, code=1):
        super().__init__(message)
        self.code = code


class Process:
    """One role's process: ``scheduler``, ``server i`` or ``worker i``."""

    def __init__(self, role, index, argv, env, host=None):
        self.role, self.index, self.host = role, index, host
        full_env = dict(os.environ, **env)
        if host:
            remote = " ".join("%s=%s" % (k, shlex.quote(v)) for k, v in sorted(env.items()))
            argv = ["ssh", "-o", "BatchMode=yes", host,
                    "cd %s && env %s %s" % (shlex.quote(os.getcwd()), remote, " ".join(map(shlex.quote, argv)))]
        # A session of its own, so that stopping it also stops whatever it started.
        self.popen = subprocess.Popen(argv, env=full_env, start_new_session=True)

    @property
    def name(self):
        where = " on %s" % self.host if self.host else ""
        return ("%s %d" % (self.role, self.index) if self.role != "scheduler" else "scheduler") + where

    def describe_exit(self):
        code = self.popen.returncode
        if code is not None and code < 0:
            return "%s (pid %d) was killed by %s" % (self.name, self.popen.pid, signal.Signals(-code).name)
        return "%s (pid %d) exited with code %s" % (self.name, self.popen.pid, code)

    def stop(self, sig=signal.SIGTERM):
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                pass


def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def start(command, num_workers, num_servers, hosts=(), scheduler_host="127.0.0.1", port=0, python=sys.executable):
    """Start the scheduler, ``num_servers`` servers and ``num_workers`` workers running ``command``; returns the
    list of :class:`Process` (scheduler first, then servers, then workers)."""
    port = port or free_port(scheduler_host if not hosts else "")
    common = {"DMLC_PS_ROOT_URI": scheduler_host, "DMLC_PS_ROOT_PORT": str(port),
              "DMLC_NUM_SERVER": str(num_servers), "DMLC_NUM_WORKER": str(num_workers),
              # the servers unpickle the optimizer, which may need zoo's modules
              "PYTHONPATH": os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p)}
    serve = [python, "-c", "import mxnet"]
    procs = [Process("scheduler", 0, serve, dict(common, DMLC_ROLE="scheduler", DMLC_NODE_HOST=scheduler_host))]
    slots = [(role, i) for role, n in (("server", num_servers), ("worker", num_workers)) for i in range(n)]
    for k, (role, i) in enumerate(slots):
        host = hosts[k % len(hosts)] if hosts else None
        node = host.rpartition("@")[2] if host else "127.0.0.1"
        procs.append(Process(role, i, serve if role == "server" else command,
                             dict(common, DMLC_ROLE=role, DMLC_NODE_HOST=node), host))
    return procs


def supervise(procs, timeout, grace=60.0, poll=0.2):
    """Wait until every worker exited with 0 and then every server and the scheduler exited; on a failure, a
    death or a timeout, stop everything and raise :class:`LaunchError`."""
    workers = [p for p in procs if p.role == "worker"]
    others = [p for p in procs if p.role != "worker"]
    deadline = time.monotonic() + timeout
    ended = None  # when a server or the scheduler exited cleanly: the workers are then shutting down too
    try:
        while True:
            for p in workers + others:
                if p.popen.poll() not in (None, 0):
                    raise LaunchError(p.describe_exit() + "; stopped the other processes")
            if all(w.popen.returncode == 0 for w in workers):
                break
            if ended is None and any(p.popen.returncode == 0 for p in others):
                ended = time.monotonic()
            if ended is not None and time.monotonic() - ended > grace:
                running = ", ".join(w.name for w in workers if w.popen.returncode is None)
                raise LaunchError("the servers finished but %s did not exit within %g s; stopped them"
                                  % (running, grace))
            if time.monotonic() > deadline:
                running = ", ".join(w.name for w in workers if w.popen.returncode is None)
                raise LaunchError("timeout: %s still running after %g s (--timeout); stopped every process"
                                  % (running, timeout), code=124)
            time.sleep(poll)
        end = min(deadline, time.monotonic() + grace)
        while any(p.popen.poll() is None for p in others):
            if time.monotonic() > end:
                left = ", ".join(p.name for p in others if p.popen.returncode is None)
                raise LaunchError("the workers finished but %s did not exit within %g s; stopped them"
                                  % (left, grace))
            time.sleep(poll)
        failed = [p for p in others if p.popen.returncode != 0]
        if failed:
            raise LaunchError(failed[0].describe_exit() + " after the workers finished")
    except BaseException:
        shutdown(procs)
        raise


def shutdown(procs, wait=5.0):
    """SIGTERM to every process still running, SIGKILL to those alive ``wait`` seconds later."""
    for p in procs:
        p.stop(signal.SIGTERM)
    end = time.monotonic() + wait
    for p in procs:
        try:
            p.popen.wait(timeout=max(end - time.monotonic(), 0.01))
        except subprocess.TimeoutExpired:
            p.stop(signal.SIGKILL)
            p.popen.wait()


def read_hosts(path):
    with open(path) as f:
        hosts = [line.split("#")[0].strip() for line in f]
    hosts = [h for h in hosts if h]
    if not hosts:
        raise LaunchError("%s lists no hosts" % path, code=2)
    return hosts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--num-workers", type=int, required=True)
    parser.add_argument("-s", "--num-servers", type=int, default=1)
    parser.add_argument("--hosts", help="file with one [user@]host a line: run servers and workers there by ssh")
    parser.add_argument("--scheduler-host", help="address the nodes reach this machine at (default: 127.0.0.1, "
                                                 "or this machine's name with --hosts)")
    parser.add_argument("--port", type=int, default=0, help="scheduler port (default: a free one)")
    parser.add_argument("--timeout", type=float, default=24 * 3600.0, help="seconds before everything is stopped")
    parser.add_argument("--grace", type=float, default=60.0,
                        help="seconds the servers and scheduler get to exit after the workers")
    parser.add_argument("--python", default=sys.executable, help="interpreter for the servers and scheduler")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the worker command")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the worker command after --")
    if args.num_workers < 1 or args.num_servers < 1:
        parser.error("-n and -s must be at least 1")
    procs = []

    def on_signal(signum, frame):
        raise LaunchError("launcher received %s; stopped every process" % signal.Signals(signum).name,
                          code=128 + signum)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    try:
        hosts = read_hosts(args.hosts) if args.hosts else ()
        scheduler_host = args.scheduler_host or (socket.getfqdn() if hosts else "127.0.0.1")
        started = time.time()
        procs = start(command, args.num_workers, args.num_servers, hosts, scheduler_host, args.port, args.python)
        supervise(procs, args.timeout, args.grace)
    except LaunchError as err:
        shutdown(procs)
        print("launch: error: %s" % err, file=sys.stderr)
        return err.code
    print("launch: %d workers and %d servers finished in %.1f s" % (args.num_workers, args.num_servers,
                                                                    time.time() - started), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

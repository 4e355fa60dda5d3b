#!/usr/bin/env python3
"""Drive OpenTuner as ask/tell over JSON lines, for SuperSAM Studio's `--backend opentuner`.

The C++ program evaluates; this program only asks OpenTuner (opentuner.api.TuningRunManager) what to try next.
Protocol, one JSON object per line (requests on stdin, answers on stdout):
  {"cmd": "init", "params": [{"name", "kind": "enum"|"bool"|"int", "choices" | "lo", "hi"}], "seed": N,
   "database": "/absolute/path.db", "objective": "feasible_first"|"threshold", "technique": optional name}
      -> {"ok": true, "opentuner": "<where it was imported from>"}
  {"cmd": "ask"}   -> {"id": N, "config": {name: value}}  or  {"exhausted": true}
  {"cmd": "tell", "id": N, "feasible": bool, "violation": x, "quality": q, "size": s} -> {"ok": true}
  {"cmd": "finish"} -> {"ok": true, "best": {name: value} | null}
Any failure: {"error": "...", "kind": "import"|"protocol"|"opentuner"}; an import failure also ends the program.
Objectives (OpenTuner has no "maximise X subject to Y <= L"):
  feasible_first: accuracy = -violation (0 when feasible), time = 1 - quality, size = size; the best result has the
      highest accuracy, then the lowest time, then the lowest size: feasible first, closer to the budget next,
      then higher quality, then smaller.
  threshold: ThresholdAccuracyMinimizeTime(1.0) with accuracy = 1 / (1 + violation) (= limit / size for a single
      size budget), time = 1 - quality.
Everything OpenTuner prints goes to stderr so that stdout carries the protocol only.
"""

import json
import math
import os
import random
import sys

PROTOCOL_OUT = None
MAX_RETRIES = 200  # get_next_desired_result() returns None when a generation only produced duplicates


def send(obj):
    PROTOCOL_OUT.write(json.dumps(obj) + "\n")
    PROTOCOL_OUT.flush()


def finite(x, fallback):
    try:
        x = float(x)
    except (TypeError, ValueError):
        return fallback
    return x if math.isfinite(x) else fallback


class Bridge(object):
    def __init__(self):
        self.api = None
        self.pending = {}
        self.next_id = 0
        self.exhausted = False
        self.Result = None

    def init(self, msg):
        try:
            import opentuner
            from opentuner.api import TuningRunManager
            from opentuner.measurement.inputmanager import FixedInputManager
            from opentuner.measurement.interface import DefaultMeasurementInterface
            from opentuner.resultsdb.models import Result
            from opentuner.search.manipulator import (BooleanParameter, ConfigurationManipulator, EnumParameter,
                                                      IntegerParameter)
            from opentuner.search.objective import SearchObjective, ThresholdAccuracyMinimizeTime
        except Exception as e:  # ImportError, or a broken dependency (sqlalchemy, numpy, future)
            send({"error": "%s: %s" % (type(e).__name__, e), "kind": "import"})
            sys.exit(2)
        try:
            import opentuner.tuningrunmain as trm
            trm.init_logging = lambda: None  # its default writes opentuner.log into the working folder
        except Exception:
            pass
        import logging
        logging.basicConfig(stream=sys.stderr, level=logging.WARNING)

        seed = int(msg.get("seed", 0))
        random.seed(seed)
        try:
            import numpy
            numpy.random.seed(seed % (2 ** 32))
        except Exception:
            pass

        class FeasibleFirst(SearchObjective):
            def result_order_by_terms(self):
                return [Result.accuracy.desc(), Result.time, Result.size]

            def result_compare(self, a, b):
                ka = (-a.accuracy, a.time, a.size)
                kb = (-b.accuracy, b.time, b.size)
                return (ka > kb) - (ka < kb)

            def result_relative(self, a, b):
                return None

        # OpenTuner pickles the objective into its database: the class must be reachable by name.
        FeasibleFirst.__qualname__ = "FeasibleFirst"
        FeasibleFirst.__module__ = __name__
        globals()["FeasibleFirst"] = FeasibleFirst

        self.objective_kind = msg.get("objective", "feasible_first")
        if self.objective_kind == "threshold":
            objective = ThresholdAccuracyMinimizeTime(1.0)
        elif self.objective_kind == "feasible_first":
            objective = FeasibleFirst()
        else:
            raise ValueError("unknown objective %r" % self.objective_kind)

        manipulator = ConfigurationManipulator()
        self.kinds = {}
        for p in msg["params"]:
            kind = p["kind"]
            self.kinds[p["name"]] = kind
            if kind == "enum":
                manipulator.add_parameter(EnumParameter(p["name"], list(p["choices"])))
            elif kind == "bool":
                manipulator.add_parameter(BooleanParameter(p["name"]))
            elif kind == "int":
                manipulator.add_parameter(IntegerParameter(p["name"], int(p["lo"]), int(p["hi"])))
            else:
                raise ValueError("unknown parameter kind %r" % kind)

        database = msg["database"]
        if not os.path.isabs(database):
            raise ValueError("database must be an absolute path, got %r" % database)
        argv = ["--database", database]
        if msg.get("technique"):
            argv += ["--technique", msg["technique"]]
        import argparse
        parser = argparse.ArgumentParser(parents=opentuner.argparsers())
        args = parser.parse_args(argv)
        # With an objective given, MeasurementInterface.input_manager() returns the one passed in (None otherwise).
        interface = DefaultMeasurementInterface(args=args, manipulator=manipulator, objective=objective,
                                                input_manager=FixedInputManager(),
                                                project_name="supersam", program_name="subnet-search",
                                                program_version="1")
        self.api = TuningRunManager(interface, args)
        self.Result = Result
        send({"ok": True, "opentuner": os.path.dirname(os.path.abspath(opentuner.__file__))})

    def plain(self, cfg):
        out = {}
        for name, kind in self.kinds.items():
            v = cfg[name]
            out[name] = bool(v) if kind == "bool" else (int(v) if kind == "int" else v)
        return out

    def ask(self, msg):
        if self.exhausted:
            send({"exhausted": True})
            return
        for _ in range(MAX_RETRIES):
            dr = self.api.get_next_desired_result()
            if dr is not None:
                self.next_id += 1
                self.pending[self.next_id] = dr
                send({"id": self.next_id, "config": self.plain(dr.configuration.data)})
                return
        self.exhausted = True
        send({"exhausted": True})

    def tell(self, msg):
        dr = self.pending.pop(int(msg["id"]))
        violation = max(0.0, finite(msg.get("violation", 0.0), 1e30))
        quality = finite(msg.get("quality"), -1e30)
        size = finite(msg.get("size"), 1e30)
        time = 1.0 - quality  # never None: OpenTuner sorts and compares on it
        if self.objective_kind == "threshold":
            accuracy = 1.0 / (1.0 + violation)
        else:
            accuracy = -violation
        self.api.report_result(dr, self.Result(time=time, accuracy=accuracy, size=size))
        send({"ok": True})

    def finish(self, msg):
        best = None
        if self.api is not None:
            try:  # the best is only updated at the start of a generation: account for the last reports
                self.api.search_driver.process_new_results()
            except Exception:
                pass
            cfg = self.api.get_best_configuration()
            best = self.plain(cfg) if cfg is not None else None
            try:
                self.api.finish()
            except Exception as e:  # finish() fails when nothing was reported; the run is over anyway
                sys.stderr.write("opentuner finish: %s\n" % e)
        send({"ok": True, "best": best})


def main():
    global PROTOCOL_OUT
    # The protocol owns the real stdout; anything else printed goes to stderr.
    PROTOCOL_OUT = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    bridge = Bridge()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            msg = json.loads(line)
            cmd = msg.get("cmd")
            if cmd == "init":
                bridge.init(msg)
            elif bridge.api is None:
                send({"error": "the first command must be init", "kind": "protocol"})
            elif cmd == "ask":
                bridge.ask(msg)
            elif cmd == "tell":
                bridge.tell(msg)
            elif cmd == "finish":
                bridge.finish(msg)
                return 0
            else:
                send({"error": "unknown command %r" % cmd, "kind": "protocol"})
        except SystemExit:
            raise
        except Exception as e:
            send({"error": "%s: %s" % (type(e).__name__, e), "kind": "opentuner"})
    return 0


if __name__ == "__main__":
    sys.exit(main())

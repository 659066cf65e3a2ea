#!/usr/bin/env python3
"""Reads the TRX files of a test run (VSTest's XML results) for test.sh.

  trx.py counts DIR        -> "passed failed skipped files"
  trx.py failed DIR        -> one fully qualified test method name per failed result (class.method, no arguments)
  trx.py report DIR        -> "FAILED: name" and the first lines of its message, for each failed result
"""
import glob
import os
import sys
import xml.etree.ElementTree as ET

NS = "{http://microsoft.com/schemas/VisualStudio/TeamTest/2010}"
FAILED = {"Failed", "Error", "Timeout", "Aborted"}


def runs(directory):
    for path in sorted(glob.glob(os.path.join(directory, "*.trx"))):
        try:
            yield ET.parse(path).getroot()
        except ET.ParseError:
            continue  # a file cut short by a crash: the exit status already says the run broke


def counts(directory):
    passed = failed = skipped = files = 0
    for root in runs(directory):
        files += 1
        counters = root.find(f"{NS}ResultSummary/{NS}Counters")
        if counters is None:
            continue
        value = lambda name: int(counters.get(name, "0"))
        passed += value("passed")
        failed += value("failed") + value("error") + value("timeout") + value("aborted")
        skipped += value("notExecuted")
    print(passed, failed, skipped, files)


def failed_results(directory):
    for root in runs(directory):
        methods = {}
        for test in root.iter(f"{NS}UnitTest"):
            method = test.find(f"{NS}TestMethod")
            if method is not None:
                methods[test.get("id")] = f"{method.get('className')}.{method.get('name')}"
        for result in root.iter(f"{NS}UnitTestResult"):
            if result.get("outcome") in FAILED:
                message = result.find(f"{NS}Output/{NS}ErrorInfo/{NS}Message")
                yield methods.get(result.get("testId"), result.get("testName")), result.get("testName"), (message.text or "") if message is not None else ""


def main():
    command, directory = sys.argv[1], sys.argv[2]
    if command == "counts":
        counts(directory)
    elif command == "failed":
        for method in sorted({method for method, _, _ in failed_results(directory)}):
            print(method)
    elif command == "report":
        for _, name, message in failed_results(directory):
            print(f"FAILED: {name}")
            for line in [l for l in message.splitlines() if l.strip()][:4]:
                print(f"    {line[:300]}")


main()

#!/usr/bin/env python3
"""alipay-msgd is linked with its start-up functions first (apps/alipay-msgd/startup.order): checks
that the link really did it, so that a change to the build cannot silently give back the ~2.5 MB of
idle RSS it saves (BENCHMARKS.md, "Idle RSS: start-up code packed together"), and that the list is
not so stale that it no longer matters.

    startup_order_test.py BINARY ORDER_FILE
"""
import subprocess
import sys


def main():
    binary, order_file = sys.argv[1], sys.argv[2]
    with open(order_file) as f:
        listed = {line.strip() for line in f if line.strip() and not line.startswith("#")}
    symbols = []  # (address, name) of the binary's functions, by address
    out = subprocess.run(["nm", "--defined-only", "-n", binary], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[1] in "tTwW":
            symbols.append((int(parts[0], 16), parts[2]))
    if not symbols:
        sys.exit(f"FAIL: nm found no functions in {binary} (stripped?)")

    found = {name for _, name in symbols if name in listed}
    if len(found) < len(listed) // 2:
        sys.exit(f"FAIL: only {len(found)} of the {len(listed)} functions in {order_file} exist in {binary}: the "
                 "list is stale; run scripts/startup-order and commit the file")

    listed_addresses = {address for address, name in symbols if name in listed}
    first, last = min(listed_addresses), max(listed_addresses)
    # Functions that are not listed but lie among the listed ones (an alias of a listed function
    # shares its address and does not count).
    among = [name for address, name in symbols
             if name not in listed and address not in listed_addresses and first < address < last]
    unlisted = sum(1 for _, name in symbols if name not in listed)
    before = sum(1 for address, name in symbols if name not in listed and address < first)
    print(f"{len(found)} of {len(listed)} listed functions in {binary}, at {first:#x}-{last:#x}; "
          f"{len(among)} of {unlisted} others among them, {before} before them")
    if len(among) > unlisted // 100 or before > unlisted // 100:
        sys.exit("FAIL: the listed functions are not packed at the start of the text: was alipay-msgd linked "
                 "by lld with --symbol-ordering-file (apps/alipay-msgd/CMakeLists.txt)? "
                 f"e.g. {among[:3] or 'functions before them'}")
    print("ok")


if __name__ == "__main__":
    main()

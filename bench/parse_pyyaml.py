#!/usr/bin/env python3
"""Parses every manifest file with PyYAML's C loader: the floor a plan is compared against."""
import glob
import sys

import yaml

count = 0
for path in sorted(glob.glob(sys.argv[1] + "/**/*.yaml", recursive=True)):
    with open(path, "rb") as f:
        for document in yaml.load_all(f, Loader=yaml.CSafeLoader):
            count += 1
print(count, "documents")

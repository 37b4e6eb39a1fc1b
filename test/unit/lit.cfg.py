# lit configuration that runs the GoogleTest unit tests, so that one lit
# invocation reports the FileCheck and the unit tests together.
import os

import lit.formats

config.name = "dlc-unit"
config.suffixes = []
config.test_source_root = os.path.join(config.dlc_obj_root, "test", "unit")
config.test_exec_root = config.test_source_root
config.test_format = lit.formats.GoogleTest(".", "Tests")
# Compiled code is cached in the build tree, never in the user's cache.
config.environment["DLC_CACHE_DIR"] = os.path.join(config.dlc_obj_root, "test", "cache")

# lit configuration for dlc's FileCheck tests: one folder per room of the
# source tree (ir/, codegen/, tools/).
import os

import lit.formats
from lit.llvm import llvm_config

config.name = "dlc"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.dlc_obj_root, "test", "lit")

llvm_config.with_system_environment(["HOME", "TMPDIR"])
# Compiled code is cached in the build tree, never in the user's cache.
config.environment["DLC_CACHE_DIR"] = os.path.join(config.dlc_obj_root, "test", "cache")
llvm_config.use_default_substitutions()
tool_dirs = [config.dlc_tools_dir, config.llvm_tools_dir]
llvm_config.add_tool_substitutions(["dlc-opt", "dlc-run-model", "dlc"], tool_dirs)
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
config.substitutions.append(("%dlc_python", config.dlc_python))
config.substitutions.append(("%dlc_src", config.dlc_src_root))
config.substitutions.append(("%dlc_build", config.dlc_obj_root))
# ONNX's node tests from Debian's libonnx-testdata.
config.substitutions.append(("%onnx_node", "/usr/share/libonnx-testdata/data/node"))
# mlir-runner's support libraries (printMemrefF32), for tests that run
# generated loops by themselves.
llvm_lib_dir = os.path.join(os.path.dirname(config.llvm_tools_dir), "lib")
config.substitutions.append(
    ("%mlir_runner_libs",
     ",".join(os.path.join(llvm_lib_dir, name)
              for name in ("libmlir_runner_utils.so", "libmlir_c_runner_utils.so"))))

# BEHAVIOUR KJ1: every test of jupyter_kernel_test passes, none skipped.
"""The kernel against `jupyter_kernel_test` (the 12 tests of KernelTests and the iopub_welcome
test), with every sample attribute set (issue 10)."""

import unittest

import jupyter_kernel_test as jkt

KERNEL = "async-kernel-lua"


class LuaKernelTests(jkt.KernelTests):
    kernel_name = KERNEL
    language_name = "lua"
    file_extension = ".lua"

    code_hello_world = "print('hello, world')"
    code_stderr = "eprint('to stderr')"

    completion_samples = [
        {"text": "string.low", "matches": {"string.lower"}},
        {"text": "coroutine.run", "matches": {"coroutine.running"}},
        {"text": "display_", "matches": {"display_html", "display_json", "display_markdown"}},
    ]

    complete_code_samples = ["x = 1", "print('hi')", "1 + 2", "function f() return 1 end"]
    incomplete_code_samples = ["function f(", "for i = 1, 3 do", "t = {", "if x then"]
    invalid_code_samples = ["x = = 1", "end end", "1 +* 2"]

    code_page_something = "help(print)"
    code_generate_error = "error('boom')"

    code_execute_result = [
        {"code": "1 + 2 + 3", "result": "6"},
        {"code": "'a' .. 'b'", "result": "ab"},
        {"code": "10 // 3", "result": "3"},
    ]
    code_display_data = [
        {"code": "display_html('<b>x</b>')", "mime": "text/html"},
        {"code": "display_markdown('*m*')", "mime": "text/markdown"},
        {"code": "display_json({a = 1})", "mime": "application/json"},
        {"code": "display(42)", "mime": "text/plain"},
    ]

    code_history_pattern = "1 + 2*"
    supported_history_operations = ("tail", "range", "search")

    code_inspect_sample = "print"
    code_clear_output = "clear_output()"


class LuaIopubWelcomeTests(jkt.IopubWelcomeTests):
    kernel_name = KERNEL
    support_iopub_welcome = True


if __name__ == "__main__":
    unittest.main()

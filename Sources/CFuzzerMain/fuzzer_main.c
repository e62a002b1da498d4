// The entry point of mailkeep-fuzz. SwiftPM links every executable with its `main` renamed to
// `<module>_main` (so that tests can link executables); a fuzzing executable has no Swift `main`
// to rename, so this one stands in for it and hands over to libFuzzer's driver, which then calls
// LLVMFuzzerTestOneInput (Sources/mailkeep-fuzz) for every input.
#include <stddef.h>
#include <stdint.h>
#include "fuzzer_main.h"

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*test_one_input)(const uint8_t *data, size_t size));
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int mailkeep_fuzz_main(int argc, char **argv) {
    return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput);
}

// mailkeep-fuzz's entry point: libFuzzer's driver over LLVMFuzzerTestOneInput.
int mailkeep_fuzz_main(int argc, char **argv);

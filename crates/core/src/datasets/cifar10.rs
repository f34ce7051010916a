//! CIFAR-10's binary batches (`data_batch_*.bin`, `test_batch.bin`).

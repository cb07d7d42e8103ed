// Placeholder owned by the BootConfig work: replaced by the real tokenizer.
public enum BootConfigModule {}

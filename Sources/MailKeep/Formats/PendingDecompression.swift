/// Placeholder until the codecs land: sources are read as they are.
func openDecompressedIfNeeded(_ source: ByteSource) throws -> ByteSource { source }

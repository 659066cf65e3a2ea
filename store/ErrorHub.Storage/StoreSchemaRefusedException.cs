namespace ErrorHub.Storage;

/// <summary>
/// The store's recorded schema version is not one this build may migrate from: no retry changes that, an operator must. The
/// process refuses to start (exit code 1 and this message) and changes nothing in the store. docs/deployment.md.
/// </summary>
internal abstract class StoreSchemaRefusedException(string message) : InvalidOperationException(message);

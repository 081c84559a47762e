namespace Worker.Providers;

// Event ids 1200-1299 belong to Providers (Chain uses 1100-1199).
internal static partial class Log
{
    [LoggerMessage(EventId = 1200, Level = LogLevel.Information,
        Message = "Provider {Provider} ready: {Kind} at {Host}, timeout {Timeout}")]
    public static partial void ProviderCreated(ILogger logger, string provider, ProviderKind kind, string host, TimeSpan timeout);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Debug,
        Message = "Provider {Provider}: {Model} is a reasoning model; temperature {Temperature} not sent")]
    public static partial void TemperatureDropped(ILogger logger, string provider, string model, double temperature);

    // 1220-1229: the Anthropic provider.
    [LoggerMessage(EventId = 1220, Level = LogLevel.Debug,
        Message = "Provider {Provider}: Anthropic accepts temperatures up to 1; {Temperature} sent as 1 for {Model}")]
    public static partial void TemperatureClamped(ILogger logger, string provider, string model, double temperature);

    [LoggerMessage(EventId = 1221, Level = LogLevel.Information,
        Message = "Provider {Provider}: {Model} stopped with stop_reason {StopReason}, not one the worker knows; its answer is read as finished")]
    public static partial void UnknownStopReason(ILogger logger, string provider, string model, string stopReason);
}

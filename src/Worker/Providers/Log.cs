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
}

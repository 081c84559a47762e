namespace Worker.ProviderHealth;

internal static partial class Log
{
    [LoggerMessage(EventId = 1500, Level = LogLevel.Warning, Message = "Breaker {Provider}/{Model} opened for {Seconds} s (manual: {Manual}): requests skip it")]
    public static partial void BreakerOpened(ILogger logger, string provider, string model, double seconds, bool manual);

    [LoggerMessage(EventId = 1501, Level = LogLevel.Information, Message = "Breaker {Provider}/{Model} half-open: one request may try it")]
    public static partial void BreakerHalfOpen(ILogger logger, string provider, string model);

    [LoggerMessage(EventId = 1502, Level = LogLevel.Information, Message = "Breaker {Provider}/{Model} closed: traffic returns to it")]
    public static partial void BreakerClosed(ILogger logger, string provider, string model);

    [LoggerMessage(EventId = 1503, Level = LogLevel.Warning, Message = "Breaker {Provider}/{Model} held open: {Why}")]
    public static partial void BreakerIsolated(ILogger logger, string provider, string model, string why);

    [LoggerMessage(EventId = 1504, Level = LogLevel.Information, Message = "Breaker {Provider}/{Model} closed by a successful ping")]
    public static partial void BreakerClosedByPing(ILogger logger, string provider, string model);
}

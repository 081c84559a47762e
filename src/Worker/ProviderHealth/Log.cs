namespace Worker.ProviderHealth;

internal static partial class Log
{
    [LoggerMessage(EventId = 1500, Level = LogLevel.Warning, Message = "Breaker {Provider}/{Model} opened for {Seconds} s: {Why}; requests skip it")]
    public static partial void BreakerOpened(ILogger logger, string provider, string model, double seconds, string why);

    [LoggerMessage(EventId = 1501, Level = LogLevel.Information, Message = "Breaker {Provider}/{Model} half-open: up to {Trials} request(s) may try it")]
    public static partial void BreakerHalfOpen(ILogger logger, string provider, string model, int trials);

    [LoggerMessage(EventId = 1518, Level = LogLevel.Information, Message = "Breaker {Provider}/{Model}: trial {Failed} of {Trials} failed ({ErrorClass})")]
    public static partial void BreakerTrialFailed(ILogger logger, string provider, string model, int failed, int trials, string errorClass);

    [LoggerMessage(EventId = 1519, Level = LogLevel.Debug, Message = "Breaker {Provider}/{Model} open: a request with no step left tries it early")]
    public static partial void BreakerLastChance(ILogger logger, string provider, string model);

    [LoggerMessage(EventId = 1502, Level = LogLevel.Information, Message = "Breaker {Provider}/{Model} closed: traffic returns to it")]
    public static partial void BreakerClosed(ILogger logger, string provider, string model);

    [LoggerMessage(EventId = 1503, Level = LogLevel.Warning, Message = "Breaker {Provider}/{Model} held open: {Why}")]
    public static partial void BreakerIsolated(ILogger logger, string provider, string model, string why);

    [LoggerMessage(EventId = 1517, Level = LogLevel.Warning,
        Message = "Breaker {Provider}/{Model} held open for {Seconds} s: {Why}; then one request may try it unless a ping closes it first")]
    public static partial void BreakerAuthBreak(ILogger logger, string provider, string model, double seconds, string why);

    [LoggerMessage(EventId = 1504, Level = LogLevel.Information, Message = "Breaker {Provider}/{Model} closed by a successful ping")]
    public static partial void BreakerClosedByPing(ILogger logger, string provider, string model);

    [LoggerMessage(EventId = 1505, Level = LogLevel.Debug, Message = "Ping {Provider}/{Model}: up in {LatencyMs} ms ({ErrorClass})")]
    public static partial void PingUp(ILogger logger, string provider, string model, int latencyMs, string? errorClass);

    [LoggerMessage(EventId = 1506, Level = LogLevel.Warning,
        Message = "Ping {Provider}/{Model}: {Outcome} ({ErrorClass}, HTTP {HttpStatus}) after {LatencyMs} ms: {Detail}")]
    public static partial void PingNotUp(ILogger logger, string provider, string model, string outcome, string? errorClass, int? httpStatus, int latencyMs, string? detail);

    [LoggerMessage(EventId = 1507, Level = LogLevel.Debug, Message = "Ping {Provider}/{Model}: slot {Slot} taken by another instance")]
    public static partial void PingTakenElsewhere(ILogger logger, string provider, string model, long slot);

    [LoggerMessage(EventId = 1508, Level = LogLevel.Debug, Message = "Ping {Provider}/{Model} skipped: the pacing budget is spent")]
    public static partial void PingSkippedPacing(ILogger logger, string provider, string model);

    [LoggerMessage(EventId = 1509, Level = LogLevel.Debug, Message = "Applied {Count} ping(s) of other instances to the breakers")]
    public static partial void PingsSynced(ILogger logger, int count);

    [LoggerMessage(EventId = 1510, Level = LogLevel.Warning, Message = "ALERT {Rule} raised for {Provider}/{Model}: {Detail} (alert {AlertId})")]
    public static partial void AlertRaised(ILogger logger, string rule, string provider, string model, string detail, Guid alertId);

    [LoggerMessage(EventId = 1511, Level = LogLevel.Information, Message = "ALERT {Rule} resolved for {Provider}/{Model} after {Duration} (alert {AlertId})")]
    public static partial void AlertResolved(ILogger logger, string rule, string provider, string model, TimeSpan duration, Guid alertId);

    [LoggerMessage(EventId = 1512, Level = LogLevel.Warning, Message = "Provider health job {Job} failed; the next firing tries again")]
    public static partial void JobFailed(ILogger logger, Exception exception, string job);

    [LoggerMessage(EventId = 1513, Level = LogLevel.Information,
        Message = "Pinging {Count} provider/model pair(s) every {Seconds} s, once per cluster: {Pairs}; at most {UsdPerDay} USD/day at list prices")]
    public static partial void PingsScheduled(ILogger logger, int count, double seconds, string pairs, decimal? usdPerDay);

    [LoggerMessage(EventId = 1514, Level = LogLevel.Information, Message = "Health pings are off (ProviderHealth:PingInterval = 0): open breakers recover through half-open requests")]
    public static partial void PingsOff(ILogger logger);

    [LoggerMessage(EventId = 1515, Level = LogLevel.Warning, Message = "{Count} breaker event(s) could not be stored")]
    public static partial void BreakerEventsLost(ILogger logger, Exception exception, int count);

    [LoggerMessage(EventId = 1516, Level = LogLevel.Debug, Message = "Provider health history: deleted {Rows} row(s) ({Days} days kept)")]
    public static partial void HistoryPruned(ILogger logger, long rows, int days);

    [LoggerMessage(EventId = 1520, Level = LogLevel.Information, Message = "{Count} worker instance(s) alive ({Instance} among them): each paces its share of every provider's per-minute budget")]
    public static partial void InstancesCounted(ILogger logger, int count, string instance);

    [LoggerMessage(EventId = 1521, Level = LogLevel.Warning, Message = "The instance heartbeat failed; pacing keeps the last count of {Count} instance(s) until it succeeds")]
    public static partial void HeartbeatFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(EventId = 1522, Level = LogLevel.Warning, Message = "Could not delete instance {Instance} from worker_instances at stop; it ages out after InstanceTimeout")]
    public static partial void HeartbeatRemoveFailed(ILogger logger, Exception exception, string instance);

    [LoggerMessage(EventId = 1523, Level = LogLevel.Information, Message = "The instance heartbeat is off (ProviderHealth:HeartbeatInterval = 0): pacing budgets are per instance")]
    public static partial void HeartbeatOff(ILogger logger);
}

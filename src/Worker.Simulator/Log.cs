namespace Worker.Simulator;

internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "LLM provider simulator listening on {Addresses}. Routes: {Routes}")]
    public static partial void Started(ILogger logger, string addresses, string routes);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information,
        Message = "Fault profile for {Target} set: always {Always}, {ScriptItems} scripted, {RateCount} rates, outage {OutageSeconds} s, latency {LatencyMs} ms")]
    public static partial void ProfileSet(ILogger logger, string target, string? always, int scriptItems, int rateCount, int outageSeconds, int latencyMs);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Fault profile for {Target} cleared")]
    public static partial void ProfileCleared(ILogger logger, string target);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "All targets reset: profiles and counters cleared")]
    public static partial void Cleared(ILogger logger);

    // Debug: benchmarks push thousands of calls a second through here.
    [LoggerMessage(EventId = 5, Level = LogLevel.Debug, Message = "{Format} call to {Target}/{Model} answered {Fault}")]
    public static partial void Call(ILogger logger, string format, string target, string model, string fault);
}

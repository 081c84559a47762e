namespace Worker.Health;

internal static partial class Log
{
    [LoggerMessage(EventId = 1800, Level = LogLevel.Warning, Message = "Readiness: PostgreSQL is unreachable ({ErrorType}: {Error})")]
    public static partial void DatabaseUnreachable(ILogger logger, string errorType, string error);
}

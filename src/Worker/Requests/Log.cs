namespace Worker.Requests;

internal static partial class Log
{
    [LoggerMessage(EventId = 2200, Level = LogLevel.Warning,
        Message = "A batch of {Count} {Write} could not be written ({Error}: {Message}); each is written on its own instead")]
    public static partial void BatchFailed(ILogger logger, string write, int count, string error, string message);
}

namespace Worker.Routing;

internal static partial class Log
{
    [LoggerMessage(EventId = 2100, Level = LogLevel.Warning,
        Message = "Could not read the live figures for routing ({Error}); ranking keeps the last ones read")]
    public static partial void FiguresNotRead(ILogger logger, string error);

}

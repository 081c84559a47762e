namespace Worker.OpsConsole;

internal static partial class Log
{
    [LoggerMessage(EventId = 2400, Level = LogLevel.Warning, Message = "The ops console is not built ({Directory} is missing): /console/ answers 503. Build the Worker project with node and npm installed")]
    public static partial void ConsoleMissing(ILogger logger, string directory);
}

namespace Worker.Ops;

internal static partial class Log
{
    [LoggerMessage(EventId = 1600, Level = LogLevel.Warning, Message = "Ops routes are disabled: OPS_API_KEY is not set")]
    public static partial void Disabled(ILogger logger);

    [LoggerMessage(EventId = 1601, Level = LogLevel.Information, Message = "Ops routes are enabled (bearer token from OPS_API_KEY)")]
    public static partial void Enabled(ILogger logger);

    [LoggerMessage(EventId = 1602, Level = LogLevel.Warning, Message = "Ops call to {Path} rejected: {Access} (from {RemoteIp})")]
    public static partial void Rejected(ILogger logger, string path, OpsAccess access, string? remoteIp);
}

namespace Worker.LastResort;

internal static partial class Log
{
    [LoggerMessage(EventId = 2300, Level = LogLevel.Information,
        Message = "Request {RequestId} answered from the {Chain} cache ({AgeSeconds:0} s old), no provider called")]
    public static partial void CacheHit(ILogger logger, Guid requestId, string chain, double ageSeconds);

    [LoggerMessage(EventId = 2301, Level = LogLevel.Warning,
        Message = "Request {RequestId}: no provider could answer; a stale cached answer of chain {Chain} ({AgeSeconds:0} s old) answers, degraded, and the request is parked")]
    public static partial void StaleAnswer(ILogger logger, Guid requestId, string chain, double ageSeconds);

    [LoggerMessage(EventId = 2302, Level = LogLevel.Warning,
        Message = "Request {RequestId}: no provider could answer; the template of chain {Chain} answers, degraded, and the request is parked")]
    public static partial void TemplateAnswer(ILogger logger, Guid requestId, string chain);

    [LoggerMessage(EventId = 2303, Level = LogLevel.Warning,
        Message = "Request {RequestId}: the {Chain} cache could not be read ({Error}); treated as a miss")]
    public static partial void CacheNotRead(ILogger logger, Guid requestId, string chain, string error);

    [LoggerMessage(EventId = 2304, Level = LogLevel.Warning,
        Message = "Request {RequestId}: its answer could not be stored in the {Chain} cache ({Error}); the next identical request calls a provider")]
    public static partial void CacheNotWritten(ILogger logger, Guid requestId, string chain, string error);
}

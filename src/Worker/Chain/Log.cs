namespace Worker.Chain;

internal static partial class Log
{
    // Debug: at thousands of requests per second a line per success costs real CPU, and the audit trail has it all.
    [LoggerMessage(EventId = 1100, Level = LogLevel.Debug,
        Message = "Request {RequestId}: {Provider}/{Model} answered on attempt {Attempt} in {LatencyMs} ms")]
    public static partial void Answered(ILogger logger, Guid requestId, string provider, string model, int attempt, long latencyMs);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning,
        Message = "Request {RequestId}: {Provider}/{Model} attempt {Attempt} failed ({ErrorClass}, HTTP {HttpStatus}); retrying after {DelayMs} ms")]
    public static partial void Retrying(ILogger logger, Guid requestId, string provider, string model, int attempt, string errorClass, int? httpStatus, long delayMs);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Warning,
        Message = "Request {RequestId}: {Provider}/{Model} attempt {Attempt} failed ({ErrorClass}, HTTP {HttpStatus}); falling back: {Why}")]
    public static partial void FallingBack(ILogger logger, Guid requestId, string provider, string model, int attempt, string errorClass, int? httpStatus, string why);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Warning,
        Message = "Request {RequestId}: {Provider}/{Model} attempt {Attempt} failed ({ErrorClass}, HTTP {HttpStatus}); giving up: {Why}")]
    public static partial void GivingUp(ILogger logger, Guid requestId, string provider, string model, int attempt, string errorClass, int? httpStatus, string why);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Warning,
        Message = "Request {RequestId}: skipped {Provider}/{Model}: {Why}")]
    public static partial void Skipped(ILogger logger, Guid requestId, string provider, string model, string why);

    [LoggerMessage(EventId = 1105, Level = LogLevel.Debug,
        Message = "Request {RequestId}: {Provider}/{Model} failure detail: {Detail}")]
    public static partial void FailureDetail(ILogger logger, Guid requestId, string provider, string model, string detail);

    [LoggerMessage(EventId = 1106, Level = LogLevel.Information,
        Message = "Request {RequestId}: deferring at {Provider}/{Model} ({Kind}) until {ResumeAt:O}: {Why}")]
    public static partial void Deferring(ILogger logger, Guid requestId, string provider, string model, string kind, DateTimeOffset resumeAt, string why);

    [LoggerMessage(EventId = 1107, Level = LogLevel.Information,
        Message = "Request {RequestId}: {Provider}/{Model} not started: {RemainingMs} ms left before the deadline, it needs {MinTimeMs} ms")]
    public static partial void TooLittleTime(ILogger logger, Guid requestId, string provider, string model, long remainingMs, long minTimeMs);
}

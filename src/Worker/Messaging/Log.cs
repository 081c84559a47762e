namespace Worker.Messaging;

internal static partial class Log
{
    [LoggerMessage(EventId = 1399, Level = LogLevel.Debug,
        Message = "Request {RequestId}: route {Tier}: {Candidates} ({Reason})")]
    public static partial void Routed(ILogger logger, Guid requestId, string tier, string candidates, string reason);

    [LoggerMessage(EventId = 1300, Level = LogLevel.Warning, Message = "Request {RequestId} is invalid: {Problem}")]
    public static partial void InvalidRequest(ILogger logger, Guid requestId, string problem);

    [LoggerMessage(EventId = 1301, Level = LogLevel.Warning, Message = "Request {RequestId} failed: {Reason} after {Attempts} provider call(s); parked for replay: {Parked}")]
    public static partial void RequestFailed(ILogger logger, Guid requestId, string reason, int attempts, bool parked);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Information, Message = "Consuming {Queue} on {Broker} with concurrency {Concurrency}, prefetch {Prefetch}")]
    public static partial void Consuming(ILogger logger, string queue, string broker, int concurrency, int prefetch);

    [LoggerMessage(EventId = 1303, Level = LogLevel.Information,
        Message = "Request {RequestId} is already {Status}: re-publishing its stored result, no provider called")]
    public static partial void RepublishingStoredResult(ILogger logger, Guid requestId, string status);

    [LoggerMessage(EventId = 1304, Level = LogLevel.Warning,
        Message = "Request {RequestId} is already {Status} but has no stored result (finished before results were kept): processed again")]
    public static partial void NoStoredResult(ILogger logger, Guid requestId, string status);

    [LoggerMessage(EventId = 1305, Level = LogLevel.Warning,
        Message = "Request {RequestId} was already used for a different request (another payload): refused, the stored request is left as it is")]
    public static partial void PayloadConflict(ILogger logger, Guid requestId);

    [LoggerMessage(EventId = 1306, Level = LogLevel.Information, Message = "Request {RequestId}: this delivery is not run: {Why}")]
    public static partial void DeliveryWaiting(ILogger logger, Guid requestId, string why);

    [LoggerMessage(EventId = 1307, Level = LogLevel.Information,
        Message = "Request {RequestId} deferred ({Kind}) until {ResumeAt:O}, to resume at step {Step} attempt {Attempt}: {Why}")]
    public static partial void Deferred(ILogger logger, Guid requestId, string kind, DateTimeOffset resumeAt, int step, int attempt, string why);

    [LoggerMessage(EventId = 1308, Level = LogLevel.Warning,
        Message = "Request {RequestId}: the claim lapsed while the chain ran and another delivery took the request; this run's deferral is dropped")]
    public static partial void ClaimLost(ILogger logger, Guid requestId);

    [LoggerMessage(EventId = 1309, Level = LogLevel.Information,
        Message = "Request {RequestId} resumes at step {Step} attempt {Attempt} after {PriorCalls} earlier provider call(s)")]
    public static partial void Resuming(ILogger logger, Guid requestId, int step, int attempt, int priorCalls);

    [LoggerMessage(EventId = 1311, Level = LogLevel.Information,
        Message = "Request {RequestId} stopped unfinished ({Why}): claim released, the message is not acknowledged and is delivered again")]
    public static partial void StoppedUnfinished(ILogger logger, Guid requestId, string why);

    [LoggerMessage(EventId = 1312, Level = LogLevel.Warning,
        Message = "Request {RequestId}: the broker connection dropped while it ran; its outcome is stored and the redelivery publishes it")]
    public static partial void TransportLost(ILogger logger, Guid requestId);

    [LoggerMessage(EventId = 1313, Level = LogLevel.Warning,
        Message = "Request {RequestId}: its deferral is stored but the CompletionDelayed notice could not be published ({Error}); the request resumes as planned")]
    public static partial void DelayNoticeNotPublished(ILogger logger, Guid requestId, string error);

    [LoggerMessage(EventId = 1316, Level = LogLevel.Debug,
        Message = "Request {RequestId} waits for its tenant until {ResumeAt:O}, no provider called: {Why}")]
    public static partial void TenantLimited(ILogger logger, Guid requestId, DateTimeOffset resumeAt, string why);
    [LoggerMessage(EventId = 1314, Level = LogLevel.Information, Message = "Request {RequestId} shed ({Trigger}): {Why}")]
    public static partial void Shed(ILogger logger, Guid requestId, string trigger, string why);

    [LoggerMessage(EventId = 1315, Level = LogLevel.Warning,
        Message = "The depth of queue {Queue} could not be sampled ({Error}); shedding by depth pauses until a sample succeeds")]
    public static partial void DepthProbeFailed(ILogger logger, string queue, string error);
}

using System.Security.Cryptography;
using MassTransit;
using Worker.Audit;
using Worker.Chain;
using Worker.Contracts;
using Worker.Requests;

namespace Worker.Messaging;

/// <summary>
/// Tells the backend that a request was deferred (<see cref="CompletionDelayed"/>), so it is not left guessing through a
/// wait of minutes. A progress hint, never a result: it is published without the mandatory flag (a backend that binds no
/// queue for it must not make the request fail or land in the error queue) and a failed publish is logged, not thrown,
/// because the deferral is already stored and the request resumes whatever happens to the hint.
/// </summary>
public static class DelayNotices
{
    /// <summary>The notice for a deferral that <see cref="IRequestLifecycle.DeferAsync"/> stored.</summary>
    public static CompletionDelayed Build(CompletionRequested request, ChainOutcome outcome, ChainDeferral deferral, int replayCount,
        DateTimeOffset delayedAt) =>
        new(request.RequestId, request.ConversationId, ReasonOf(deferral.Kind), AuditText.Clean(deferral.Reason) ?? deferral.Kind,
            deferral.ResumeAt, outcome.TotalCalls, request.Metadata, delayedAt, replayCount);

    /// <summary>The public code of a durable deferral kind. The in_flight wait of a duplicate delivery gets no notice.</summary>
    public static string ReasonOf(string kind) => kind switch
    {
        DeferralKinds.Retry => DelayReasons.RetryWait,
        DeferralKinds.Pacing => DelayReasons.RateLimited,
        DeferralKinds.Unavailable => DelayReasons.ProvidersUnavailable,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a deferral a backend is told about"),
    };

    /// <summary>
    /// Derived from the request id and the deferral's resume time, which differs between two deferrals of one request:
    /// each deferral has its own id, and a copy of one notice (a publish retried after a lost confirm) has the same id,
    /// so a backend drops duplicates by message id as it does for results. Never equal to a result's id (another prefix).
    /// </summary>
    public static Guid MessageId(Guid requestId, DateTimeOffset resumeAt)
    {
        Span<byte> input = stackalloc byte[16 + 8 + 8];
        requestId.TryWriteBytes(input);
        "delayed:"u8.CopyTo(input[16..]);
        // Microseconds, as PostgreSQL stores resume_at: the same deferral read back from its row gets the same id.
        BitConverter.TryWriteBytes(input[24..], resumeAt.UtcTicks / 10 * 10);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(input, hash);
        return new Guid(hash[..16]);
    }

    /// <summary>Publishes the notice, best effort; returns false (and logs why) when it could not be published.</summary>
    public static async Task<bool> TryPublishAsync(ConsumeContext context, CompletionDelayed notice, ILogger logger)
    {
        try
        {
            await context.Publish(notice, publish =>
            {
                publish.Mandatory = false;
                publish.MessageId = MessageId(notice.RequestId, notice.ExpectedResumeAt);
            }, context.CancellationToken);
            return true;
        }
        catch (Exception e)
        {
            // The type only: a broker exception's message may carry the connection address.
            Log.DelayNoticeNotPublished(logger, notice.RequestId, e.GetType().Name);
            return false;
        }
    }
}

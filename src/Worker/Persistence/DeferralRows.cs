namespace Worker.Persistence;

/// <summary>The lifecycle of a deferred_requests row. Stored as the lower-case name.</summary>
public static class DeferralState
{
    /// <summary>Due at <see cref="DeferredRequestRow.ResumeAt"/>: the release job re-publishes it then.</summary>
    public const string Waiting = "waiting";

    /// <summary>Re-published to the request queue; the delivery on its way resumes from the stored position.</summary>
    public const string Released = "released";

    /// <summary>A delivery claimed the request and runs it from the stored position (kept until the outcome, for a crash).</summary>
    public const string Running = "running";
}

/// <summary>
/// A request waiting durably instead of in a consumer slot (table <c>deferred_requests</c>), keyed by request id, or a
/// duplicate delivery waiting for the lease of the delivery that runs it. It holds where the chain resumes (step and
/// attempt, calls already made, when deferral began) and the message to re-publish. Written in the same transaction as
/// the request row; deleted with the request's outcome.
/// </summary>
public sealed class DeferredRequestRow
{
    public Guid RequestId { get; set; }

    /// <summary>waiting, released or running (<see cref="DeferralState"/>).</summary>
    public string State { get; set; } = DeferralState.Waiting;

    /// <summary>Why it waits: retry, pacing, unavailable or in_flight (Chain's <c>DeferralKinds</c>).</summary>
    public string Kind { get; set; } = "";

    public DateTimeOffset ResumeAt { get; set; }

    /// <summary>The chain step the next run starts at (0-based).</summary>
    public int StepIndex { get; set; }

    /// <summary>The attempt on that step the next run starts at (1-based).</summary>
    public int Attempt { get; set; } = 1;

    /// <summary>Provider calls already made for the request by earlier runs.</summary>
    public int Calls { get; set; }

    /// <summary>Estimated cost of the calls already made by earlier runs, in USD (what a budget still has to count).</summary>
    public decimal CostUsd { get; set; }

    /// <summary>The routing decision the run follows (RouteDecision as jsonb): a resumed run keeps its candidate order.</summary>
    public string? Route { get; set; }

    /// <summary>When the request was first deferred: Chain:MaxDeferral counts from here. Null for a duplicate's wait.</summary>
    public DateTimeOffset? DeferralStartedAt { get; set; }

    public DateTimeOffset DeferredAt { get; set; }

    /// <summary>How many times the request was deferred (or waited as a duplicate).</summary>
    public int DeferCount { get; set; }

    public string? Reason { get; set; }

    /// <summary>The CompletionRequested to re-publish, as JSON. Holds the prompt (PII), like dead_letters.message.</summary>
    public string Message { get; set; } = "";

    public DateTimeOffset? ReleasedAt { get; set; }
}

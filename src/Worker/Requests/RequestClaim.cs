using Worker.Chain;
using Worker.Persistence;

namespace Worker.Requests;

/// <summary>What a delivery of a request may do, decided by <see cref="RequestLifecycle.ClaimAsync"/>.</summary>
public enum ClaimOutcome
{
    /// <summary>This delivery runs the request, from <see cref="RequestClaim.Start"/>, holding a lease.</summary>
    Claimed,

    /// <summary>The request is finished: re-publish <see cref="RequestClaim.StoredResult"/>, call nobody.</summary>
    Finished,

    /// <summary>The request id was used for another payload: refuse this delivery, touch nothing.</summary>
    Conflict,

    /// <summary>
    /// Another delivery runs the request now (a live lease), or the request is deferred and scheduled: nothing to do
    /// here. A deferred_requests row delivers it again when the lease ends or the wait is over.
    /// </summary>
    Waiting,
}

/// <summary>The outcome of a claim, and what the consumer needs to act on it.</summary>
/// <param name="Token">This delivery's claim token (the lease is renewed and the deferral written under it).</param>
/// <param name="ReceivedAt">When the request was first received (kept from its first delivery).</param>
/// <param name="PreviousStatus">The request row's status before this delivery.</param>
/// <param name="Start">Where the chain starts: the beginning, or where a deferred run stopped.</param>
/// <param name="StoredResult">The result JSON a finished request published.</param>
/// <param name="Detail">For <see cref="ClaimOutcome.Waiting"/>: why, for the log.</param>
/// <param name="ReplayCount">How many times ops replayed the request; the outcome this delivery produces carries it.</param>
public sealed record RequestClaim(
    ClaimOutcome Outcome,
    Guid Token,
    DateTimeOffset ReceivedAt,
    string PreviousStatus,
    ChainStart Start,
    string? StoredResult = null,
    string? Detail = null,
    int ReplayCount = 0);

/// <summary>The request row as the claim reads it (locked).</summary>
/// <param name="DatabaseNow">PostgreSQL's <c>now()</c> at the read: leases are judged on the database's clock.</param>
public sealed record ClaimedRow(string Status, Guid? ClaimToken, DateTimeOffset? LeaseUntil, string? PayloadHash, string? Result, DateTimeOffset ReceivedAt,
    int ReplayCount = 0, DateTimeOffset DatabaseNow = default);

/// <summary>The request's deferred_requests row as the claim reads it (locked), if any.</summary>
public sealed record ClaimedDeferral(string State, DateTimeOffset ResumeAt, int StepIndex, int Attempt, int Calls, DateTimeOffset? DeferralStartedAt)
{
    /// <summary>What the earlier runs' calls cost, in USD.</summary>
    public decimal CostUsd { get; init; }

    /// <summary>The routing decision the earlier runs followed, as stored (jsonb text).</summary>
    public string? Route { get; init; }

    public ChainStart Position => new(StepIndex, Attempt, Calls, DeferralStartedAt) { PriorCostUsd = CostUsd, Route = StoredJson.ReadRoute(Route) };
}

/// <summary>What the claim writes after deciding.</summary>
public enum ClaimWrite
{
    /// <summary>Nothing.</summary>
    None,

    /// <summary>Take the claim (status in_progress, token, lease); a deferral row becomes running.</summary>
    Claim,

    /// <summary>Delete the deferral row: the finished request's result is being re-published.</summary>
    ForgetDeferral,

    /// <summary>Schedule a look at the request when the other delivery's lease ends (a waiting deferral row).</summary>
    WaitForLease,
}

/// <summary>
/// The claim's rules, in order, with no I/O (unit-tested). A delivery of a request that already exists:
/// <list type="number">
/// <item>whose claim it already holds (a retried claim write) keeps it;</item>
/// <item>with another payload hash is refused;</item>
/// <item>of a finished request re-publishes its stored result; a parked request is finished too, until an ops replay
/// marks it replayed (only a replay may run it again: a duplicate or a redelivery must not pay for it twice);</item>
/// <item>while another delivery holds a live lease, waits (durably) for that lease to end;</item>
/// <item>of a deferred request not due yet is dropped: its deferral will deliver it;</item>
/// <item>otherwise claims it (a crashed instance's lapsed lease, a requeued or released delivery, a replay), resuming at
/// the stored position if there is one.</item>
/// </list>
/// </summary>
public static class ClaimRules
{
    public static (ClaimOutcome Outcome, ClaimWrite Write, string? Detail) Decide(
        ClaimedRow row, ClaimedDeferral? deferral, string payloadHash, Guid token, DateTimeOffset now)
    {
        if (row.ClaimToken == token)
        {
            return (ClaimOutcome.Claimed, ClaimWrite.Claim, null);
        }

        if (row.PayloadHash is { } stored && !string.Equals(stored, payloadHash, StringComparison.Ordinal))
        {
            return (ClaimOutcome.Conflict, ClaimWrite.None, null);
        }

        if (RequestStatus.IsTerminal(row.Status) && row.Result is not null)
        {
            return (ClaimOutcome.Finished, deferral is null ? ClaimWrite.None : ClaimWrite.ForgetDeferral, null);
        }

        if (row.ClaimToken is not null && row.LeaseUntil > now)
        {
            // A waiting row already makes sure someone looks again; one is enough.
            return deferral?.State == DeferralState.Waiting
                ? (ClaimOutcome.Waiting, ClaimWrite.None, $"running elsewhere until {row.LeaseUntil:O}; a look is already scheduled")
                : (ClaimOutcome.Waiting, ClaimWrite.WaitForLease, $"running elsewhere until {row.LeaseUntil:O}");
        }

        if (deferral is { State: DeferralState.Waiting } waiting && waiting.ResumeAt > now)
        {
            return (ClaimOutcome.Waiting, ClaimWrite.None, $"deferred until {waiting.ResumeAt:O}, which delivers it then");
        }

        return (ClaimOutcome.Claimed, ClaimWrite.Claim, null);
    }
}

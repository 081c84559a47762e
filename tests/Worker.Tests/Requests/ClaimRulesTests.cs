using Worker.Audit;
using Worker.Chain;
using Worker.Persistence;
using Worker.Requests;

namespace Worker.Tests.Requests;

/// <summary>What a delivery of an existing request may do: the claim's rules, in their order.</summary>
public class ClaimRulesTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);
    private static readonly Guid Mine = Guid.NewGuid();
    private const string Hash = "aaaa";

    private static ClaimedRow Row(string status, Guid? token = null, DateTimeOffset? lease = null, string? hash = Hash, string? result = null) =>
        new(status, token, lease, hash, result, Now.AddMinutes(-5));

    private static ClaimedDeferral Deferral(string state, DateTimeOffset resumeAt) => new(state, resumeAt, 1, 2, 3, Now.AddMinutes(-2));

    private static (ClaimOutcome, ClaimWrite) Decide(ClaimedRow row, ClaimedDeferral? deferral = null, string hash = Hash)
    {
        var (outcome, write, _) = ClaimRules.Decide(row, deferral, hash, Mine, Now);
        return (outcome, write);
    }

    [Fact]
    public void A_retried_claim_write_finds_its_own_claim_and_keeps_it() =>
        Assert.Equal((ClaimOutcome.Claimed, ClaimWrite.Claim), Decide(Row(RequestStatus.InProgress, Mine, Now.AddMinutes(1))));

    [Fact]
    public void Another_payload_under_the_same_id_is_refused_whatever_the_state() =>
        Assert.All([RequestStatus.InProgress, RequestStatus.Succeeded, RequestStatus.Parked, RequestStatus.Deferred],
            status => Assert.Equal((ClaimOutcome.Conflict, ClaimWrite.None), Decide(Row(status, result: "{}"), hash: "bbbb")));

    [Fact]
    public void A_row_without_a_payload_hash_accepts_the_payload() =>
        Assert.Equal((ClaimOutcome.Claimed, ClaimWrite.Claim), Decide(Row(RequestStatus.Parked, hash: null)));

    [Fact]
    public void A_finished_request_republishes_and_forgets_a_leftover_deferral()
    {
        Assert.Equal((ClaimOutcome.Finished, ClaimWrite.None), Decide(Row(RequestStatus.Succeeded, result: "{}")));
        Assert.Equal((ClaimOutcome.Finished, ClaimWrite.ForgetDeferral),
            Decide(Row(RequestStatus.Failed, result: "{}"), Deferral(DeferralState.Released, Now)));
    }

    [Fact]
    public void A_parked_request_is_finished_for_every_delivery_but_a_replay()
    {
        // A duplicate publish, a redelivery after a dropped connection, a released waiting duplicate: none may pay again.
        Assert.Equal((ClaimOutcome.Finished, ClaimWrite.None), Decide(Row(RequestStatus.Parked, result: "{}")));
        Assert.Equal((ClaimOutcome.Finished, ClaimWrite.ForgetDeferral),
            Decide(Row(RequestStatus.Parked, result: "{}"), Deferral(DeferralState.Waiting, Now.AddSeconds(-1))));
        // Only an ops replay marks it replayed, and that delivery runs it.
        Assert.Equal((ClaimOutcome.Claimed, ClaimWrite.Claim), Decide(Row(RequestStatus.Replayed, result: "{}")));
    }

    [Fact]
    public void A_finished_request_without_a_stored_result_runs_again() =>
        Assert.Equal((ClaimOutcome.Claimed, ClaimWrite.Claim), Decide(Row(RequestStatus.Succeeded)));

    [Fact]
    public void A_live_lease_elsewhere_makes_the_duplicate_wait_for_it_once()
    {
        var running = Row(RequestStatus.InProgress, Guid.NewGuid(), Now.AddSeconds(30));
        Assert.Equal((ClaimOutcome.Waiting, ClaimWrite.WaitForLease), Decide(running));
        Assert.Equal((ClaimOutcome.Waiting, ClaimWrite.WaitForLease), Decide(running, Deferral(DeferralState.Running, Now.AddMinutes(-1))));
        Assert.Equal((ClaimOutcome.Waiting, ClaimWrite.None), Decide(running, Deferral(DeferralState.Waiting, Now.AddSeconds(31))));
    }

    [Fact]
    public void A_lapsed_lease_is_taken_over_resuming_at_the_stored_position()
    {
        var crashed = Row(RequestStatus.InProgress, Guid.NewGuid(), Now.AddSeconds(-1));
        Assert.Equal((ClaimOutcome.Claimed, ClaimWrite.Claim), Decide(crashed));
        Assert.Equal(new ChainStart(1, 2, 3, Now.AddMinutes(-2)), Deferral(DeferralState.Running, Now).Position);
    }

    [Fact]
    public void A_deferred_request_not_due_is_left_to_its_deferral_and_claimed_once_released_or_due()
    {
        var deferred = Row(RequestStatus.Deferred);
        Assert.Equal((ClaimOutcome.Waiting, ClaimWrite.None), Decide(deferred, Deferral(DeferralState.Waiting, Now.AddMinutes(1))));
        Assert.Equal((ClaimOutcome.Claimed, ClaimWrite.Claim), Decide(deferred, Deferral(DeferralState.Waiting, Now)));
        Assert.Equal((ClaimOutcome.Claimed, ClaimWrite.Claim), Decide(deferred, Deferral(DeferralState.Released, Now.AddMinutes(-1))));
    }

    [Fact]
    public void A_released_claim_after_shutdown_is_taken_at_once() =>
        Assert.Equal((ClaimOutcome.Claimed, ClaimWrite.Claim), Decide(Row(RequestStatus.InProgress, token: null, lease: null)));
}

using Microsoft.Extensions.Options;
using Worker.Audit;
using Worker.Chain;
using Worker.Contracts;
using Worker.DeadLetters;
using Worker.Messaging;
using Worker.Persistence;
using Worker.Providers;
using Worker.Requests;

namespace Worker.Tests.DeadLetters;

public class ParkingTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);

    private static ChainParking Parking(string? reasons = null) =>
        new(Options.Create(reasons is null ? new DeadLettersOptions() : new DeadLettersOptions { ParkReasons = reasons }));

    [Fact]
    public void By_default_only_an_exhausted_chain_is_parked()
    {
        var parking = Parking();

        Assert.True(parking.ShouldPark(FailureReasons.ProvidersExhausted));
        Assert.False(parking.ShouldPark(FailureReasons.ContentBlocked));
        Assert.False(parking.ShouldPark(FailureReasons.DeadlineExceeded));
        Assert.False(parking.ShouldPark(FailureReasons.InvalidRequest));
    }

    [Fact]
    public void Park_reasons_are_a_comma_separated_list_and_empty_parks_nothing()
    {
        Assert.True(Parking(" providers_exhausted , content_blocked ").ShouldPark(FailureReasons.ContentBlocked));
        Assert.False(Parking("").ShouldPark(FailureReasons.ProvidersExhausted));
    }

    [Fact]
    public void A_dead_lettered_failure_makes_a_parked_row_with_its_result_and_dead_letter()
    {
        var builder = new AuditRowBuilder(Options.Create(new AuditOptions()), Options.Create(new RequestLimits()), Audit.PriceTableTests.Prices());
        var request = new CompletionRequested(Guid.NewGuid(), "conv", [new ChatMessage("user", "Hi\0there")], "default",
            Metadata: new Dictionary<string, string> { ["tenant"] = "acme" });
        var outcome = new ChainOutcome(null, null, FailureReasons.ProvidersExhausted, "Every step of the chain failed.",
        [
            new AttemptRecord(0, "gemini", "gemini-2.5-pro", 1, T0, T0.AddMilliseconds(5), true, ErrorClass.Server, 503, null, Decision.FellBack, null, null, null, "503", null),
            new AttemptRecord(1, "openai", "o3-mini", 1, T0.AddSeconds(1), T0.AddSeconds(2), true, ErrorClass.Timeout, null, null, Decision.GaveUp, null, null, null, "slow", null),
        ]);
        var result = Results.Failed(request, FailureReasons.ProvidersExhausted, "Every step of the chain failed.", 2, T0.AddSeconds(2), deadLettered: true);

        var row = builder.Completed(request, T0, outcome, T0.AddSeconds(2), result);
        var parked = Parking().Row(request, row);

        Assert.Equal(RequestStatus.Parked, row.Status);
        var stored = Assert.IsType<RequestResult.Failed>(StoredJson.ReadResult(RequestStatus.Failed, row.Result)).Message;
        Assert.True(stored.DeadLettered);
        Assert.Equal((request.RequestId, request.RequestId, DeadLetterSource.Chain, DeadLetterStatus.Parked), (parked.Id, parked.RequestId, parked.Source, parked.Status));
        Assert.Equal((FailureReasons.ProvidersExhausted, "timeout", "openai", "default"), (parked.Reason, parked.ErrorClass, parked.Provider, parked.Chain));
        Assert.Equal(DeadLetterGroups.Key(FailureReasons.ProvidersExhausted, "timeout", "openai", "default", null), parked.GroupKey);
        // The full request, whatever the prompt storage policy: it is what a replay sends. Cleaned for jsonb.
        var message = StoredJson.ReadRequest(parked.Message)!;
        Assert.Equal((request.RequestId, "Hi\uFFFDthere", "acme"), (message.RequestId, message.Messages[0].Content, message.Metadata!["tenant"]));
    }

    [Fact]
    public void A_failure_that_is_not_dead_lettered_stays_failed()
    {
        var builder = new AuditRowBuilder(Options.Create(new AuditOptions()), Options.Create(new RequestLimits()), Audit.PriceTableTests.Prices());
        var request = new CompletionRequested(Guid.NewGuid(), null, [new ChatMessage("user", "Hi")]);
        var outcome = new ChainOutcome(null, null, FailureReasons.ContentBlocked, "blocked", []);

        var row = builder.Completed(request, T0, outcome, T0, Results.Failed(request, FailureReasons.ContentBlocked, "blocked", 0, T0));

        Assert.Equal(RequestStatus.Failed, row.Status);
        Assert.NotNull(row.Result);
    }

    [Fact]
    public void A_stored_success_reads_back_as_published()
    {
        var published = new CompletionSucceeded(Guid.NewGuid(), "c", "Paris.", "gemini", "gemini-2.5-pro", false, 1, 10, 2, null, T0);

        var stored = StoredJson.ReadResult(RequestStatus.Succeeded, StoredJson.Result(published));

        Assert.Equal(published, stored);
        // A replayed request is being run again: its old result is not what a delivery publishes.
        Assert.Null(StoredJson.ReadResult(RequestStatus.Replayed, StoredJson.Result(published)));
        Assert.Null(StoredJson.ReadResult(RequestStatus.Succeeded, null));
    }

    [Fact]
    public void A_parked_request_reads_back_its_dead_lettered_failure()
    {
        var request = new CompletionRequested(Guid.NewGuid(), "c", [new ChatMessage("user", "Hi")]);
        var parked = Results.Failed(request, FailureReasons.ProvidersExhausted, "all down", 3, T0, deadLettered: true);

        var stored = Assert.IsType<RequestResult.Failed>(StoredJson.ReadResult(RequestStatus.Parked, StoredJson.Result(parked))).Message;

        Assert.Equal((parked.RequestId, true, 3), (stored.RequestId, stored.DeadLettered, stored.Attempts));
    }

    [Fact]
    public void A_degraded_answer_makes_a_parked_row_with_a_dead_letter_and_reads_back_as_the_answer()
    {
        var builder = new AuditRowBuilder(Options.Create(new AuditOptions()), Options.Create(new RequestLimits()), Audit.PriceTableTests.Prices());
        var request = new CompletionRequested(Guid.NewGuid(), "c", [new ChatMessage("user", "Hi")], "default", AllowDegraded: true);
        var outcome = new ChainOutcome(null, null, FailureReasons.ProvidersExhausted, "Every step of the chain failed.",
        [
            new AttemptRecord(0, "gemini", "gemini-2.5-pro", 1, T0, T0.AddMilliseconds(5), true, ErrorClass.Server, 503, null, Decision.GaveUp, null, null, null, "503", null),
            new AttemptRecord(-1, "template", "template", 0, T0.AddSeconds(1), T0.AddSeconds(1), false, null, null, null, Decision.Degraded, null, null, null, null, "degraded: the chain's template; parked"),
        ]);
        var answer = new Worker.LastResort.DegradedAnswer(ResultSources.Template, "Thanks, back soon.", "template", "template", null, null, null);
        RequestResult result = Results.Degraded(request, outcome, answer, T0.AddSeconds(1));

        var row = builder.Completed(request, T0, outcome, T0.AddSeconds(1), result);
        var parked = Parking().Row(request, row);

        Assert.True(result.IsParked);
        Assert.Equal((RequestStatus.Parked, FailureReasons.ProvidersExhausted, 1), (row.Status, row.FailureReason, row.AttemptCount));
        Assert.Equal(("degraded", false), (row.Attempts[1].Decision, row.Attempts[1].CallMade));
        Assert.Equal((DeadLetterStatus.Parked, FailureReasons.ProvidersExhausted, "gemini"), (parked.Status, parked.Reason, parked.Provider));
        var stored = Assert.IsType<RequestResult.Succeeded>(StoredJson.ReadResult(RequestStatus.Parked, row.Result)).Message;
        Assert.Equal((ResultSources.Template, true, "Thanks, back soon.", 1, 0), (stored.Source, stored.Degraded, stored.Text, stored.Attempts, stored.ReplayCount));
    }
}

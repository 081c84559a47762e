using Worker.DeadLetters;

namespace Worker.Tests.DeadLetters;

public class DeadLetterSelectionTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);

    private static DeadLetterSelection Parse(string body, bool allowRedirect = true)
    {
        var selection = DeadLetterSelection.TryParse(body, allowRedirect, Now, out var errors);
        Assert.True(selection is not null, string.Join("; ", errors.Select(e => $"{e.Key}: {e.Value[0]}")));
        return selection;
    }

    private static Dictionary<string, string[]> Errors(string body, bool allowRedirect = true)
    {
        Assert.Null(DeadLetterSelection.TryParse(body, allowRedirect, Now, out var errors));
        return errors;
    }

    [Fact]
    public void Request_ids_select_those_items_once_each()
    {
        var id = Guid.NewGuid();
        var other = Guid.NewGuid();

        var selection = Parse($$"""{"requestIds": ["{{id}}", "{{other}}", "{{id}}"]}""");

        Assert.Equal([id, other], selection.Ids);
        Assert.Null(selection.Filter);
        Assert.False(selection.DryRun);
        Assert.Null(selection.RedirectChain);
    }

    [Fact]
    public void An_empty_filter_selects_everything()
    {
        var selection = Parse("""{"filter": {}}""");

        Assert.Equal(DeadLetterFilter.All, selection.Filter);
        Assert.Null(selection.Ids);
    }

    [Fact]
    public void A_filter_takes_every_field_and_resolves_windows_against_now()
    {
        var selection = Parse("""
            {"filter": {"reason": "providers_exhausted", "provider": "gemini", "chain": "default", "group": "0123456789ab",
                        "since": "2h", "until": "2026-11-21T11:30:00Z"},
             "dryRun": true, "chain": "openai-only"}
            """);

        Assert.Equal(new DeadLetterFilter("providers_exhausted", "gemini", "default", "0123456789ab", Now.AddHours(-2),
            new DateTimeOffset(2026, 11, 21, 11, 30, 0, TimeSpan.Zero)), selection.Filter);
        Assert.True(selection.DryRun);
        Assert.Equal("openai-only", selection.RedirectChain);
    }

    [Fact]
    public void Empty_filter_values_count_as_absent()
    {
        Assert.Equal(DeadLetterFilter.All, Parse("""{"filter": {"reason": "", "provider": null}}""").Filter);
    }

    [Theory]
    [InlineData("{}", "body")]
    [InlineData("""{"dryRun": true}""", "body")]
    [InlineData("""{"requestIds": [], "dryRun": true}""", "requestIds")]
    [InlineData("""{"requestIds": ["nope"]}""", "requestIds")]
    [InlineData("""{"requestIds": "0b7d4a8e-2f65-4f4e-9d5e-1d1f2f6c9a11"}""", "requestIds")]
    [InlineData("""{"filter": {}, "requestIds": ["0b7d4a8e-2f65-4f4e-9d5e-1d1f2f6c9a11"]}""", "body")]
    [InlineData("""{"filter": []}""", "filter")]
    [InlineData("""{"filter": {}, "dryRun": "yes"}""", "dryRun")]
    [InlineData("""{"filter": {}, "chain": 7}""", "chain")]
    [InlineData("""{"filter": {"since": "yesterday"}}""", "filter.since")]
    [InlineData("""{"filter": {"since": "1h", "until": "2h"}}""", "filter.until")]
    [InlineData("""{"filter": {"group": "ZZZ"}}""", "filter.group")]
    [InlineData("""{"filter": {"reason": 5}}""", "filter.reason")]
    [InlineData("not json", "body")]
    [InlineData("[1, 2]", "body")]
    public void A_bad_selection_is_refused_naming_the_field(string body, string field) => Assert.Contains(field, Errors(body).Keys);

    [Fact]
    public void A_misspelt_field_is_an_error_never_ignored_because_ignoring_it_would_widen_the_selection()
    {
        Assert.Contains("filter.reasons", Errors("""{"filter": {"reasons": "providers_exhausted"}}""").Keys);
        Assert.Contains("dry_run", Errors("""{"filter": {}, "dry_run": true}""").Keys);
    }

    [Fact]
    public void Only_a_replay_can_be_redirected()
    {
        Assert.Contains("chain", Errors("""{"filter": {}, "chain": "openai-only"}""", allowRedirect: false).Keys);
    }

    [Fact]
    public void Too_many_ids_are_refused()
    {
        var ids = string.Join(", ", Enumerable.Range(0, DeadLetterSelection.MaxIds + 1).Select(_ => $"\"{Guid.NewGuid()}\""));
        Assert.Contains("requestIds", Errors($$"""{"requestIds": [{{ids}}]}""").Keys);
    }
}

public class DeadLetterFilterTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void No_parameters_select_everything()
    {
        var errors = new Dictionary<string, string[]>();
        Assert.Equal(DeadLetterFilter.All, DeadLetterFilter.TryParse(null, "", null, "", null, "", Now, errors));
        Assert.Empty(errors);
    }

    [Fact]
    public void Since_takes_a_window_or_an_instant_and_until_must_be_later()
    {
        var errors = new Dictionary<string, string[]>();
        var filter = DeadLetterFilter.TryParse(null, null, null, null, "15m", "2026-11-21T12:00:00", Now, errors)!;
        Assert.Equal((Now.AddMinutes(-15), Now), (filter.Since, filter.Until));

        Assert.Null(DeadLetterFilter.TryParse(null, null, null, null, "2026-11-21T12:00:00Z", "1h", Now, errors));
        Assert.Equal(["until"], errors.Keys);
    }

    [Fact]
    public void List_options_default_to_parked_and_fifty_and_all_lifts_the_status_filter()
    {
        var errors = new Dictionary<string, string[]>();
        Assert.Equal(((string?)"parked", 50), DeadLetterApi.ParseListOptions(null, null, errors));
        Assert.Equal(((string?)null, 500), DeadLetterApi.ParseListOptions("all", "500", errors));
        Assert.Equal(((string?)"archived", 1), DeadLetterApi.ParseListOptions("archived", "1", errors));
        Assert.Empty(errors);

        DeadLetterApi.ParseListOptions("gone", "501", errors);
        Assert.Equal(["limit", "status"], errors.Keys.Order());
    }
}

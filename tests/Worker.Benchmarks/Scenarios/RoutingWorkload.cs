using Worker.Contracts;

namespace Worker.Benchmarks.Scenarios;

/// <summary>
/// One kind of work in the routing scenario's mix: what the route hints say about it, how long its answer is, and the
/// prompt it sends. The answer length goes out as <c>maxOutputTokens</c>, which the simulator (with
/// <c>replyToMaxTokens</c>) answers in full, so the output tokens, and the cost, depend on the work and not on the model.
/// </summary>
/// <param name="Name">Names the class in the request's metadata and in the report.</param>
/// <param name="Tier">The reporting tier: <c>trivial/simple</c>, <c>moderate</c> or <c>expert</c>.</param>
/// <param name="Percent">Share of the workload, in whole percent.</param>
public sealed record WorkClass(string Name, string Tier, int Percent, string Complexity, string Quality, int AnswerTokens, string System, string Prompt);

/// <summary>
/// The routing scenario's mixed workload (issue 13: about 60 % trivial or simple, 30 % moderate, 10 % expert work), the
/// same requests for every run: only whether they carry route hints differs. Deterministic, so two runs send the same
/// classes in the same order.
/// </summary>
public static class RoutingWorkload
{
    public const string TrivialOrSimple = "trivial/simple";
    public const string Moderate = "moderate";
    public const string Expert = "expert";

    private const string SalesSystem =
        "You are the writing assistant of a sales-development team. Answer in plain text, no markdown, in the language of the lead.";

    /// <summary>
    /// The mix. Moderate work is split between drafts (the shipped routes send <c>moderate_draft</c> to the fast chain)
    /// and production text (the default chain), because both happen and they route differently.
    /// </summary>
    public static IReadOnlyList<WorkClass> Classes { get; } =
    [
        new("trivial", TrivialOrSimple, 30, RouteComplexity.Trivial, RouteQuality.Production, 100, SalesSystem,
            "Classify this reply from a lead as one of: interested, not now, not interested, wrong person, unsubscribe. Give the label and one " +
            "sentence of reason. Reply: \"Thanks for reaching out. We just signed with a vendor for this year, so maybe check back in the spring.\""),
        new("simple", TrivialOrSimple, 30, RouteComplexity.Simple, RouteQuality.Production, 250, SalesSystem,
            "Write a short, friendly follow-up email to Dana, head of operations at a mid-sized logistics company, who opened our last two emails " +
            "about route planning software but did not answer. Mention the free pilot and ask for fifteen minutes next week."),
        new("moderate-draft", Moderate, 15, RouteComplexity.Moderate, RouteQuality.Draft, 500, SalesSystem,
            "Draft a first version of a three-email outreach sequence for warehouse managers in food distribution. Our product cuts picking errors " +
            "with handheld scanners and live stock counts. Each email under 120 words, each with a different angle: cost, accuracy, staff turnover."),
        new("moderate", Moderate, 15, RouteComplexity.Moderate, RouteQuality.Production, 500, SalesSystem,
            "Summarise this call transcript for the CRM: the prospect's current tools, their three main pains, who decides and when, objections " +
            "raised and the agreed next step. Transcript: the prospect runs 40 trucks, plans routes in spreadsheets, loses a day a week to re-planning."),
        new("expert", Expert, 10, RouteComplexity.Expert, RouteQuality.Production, 1000,
            "You are a senior revenue-operations analyst. Reason carefully and show your assumptions.",
            "Our outbound pipeline converted 2.1 % of contacted leads to meetings last quarter, down from 3.4 %. Sequences got longer, the list " +
            "moved from mid-market to enterprise and two of five reps are new. Propose how to find out which change caused the drop, what data " +
            "to pull, which experiments to run for four weeks, and how to read their results."),
    ];

    /// <summary>
    /// The class of the <paramref name="index"/>-th request: every block of 100 consecutive requests holds each class
    /// exactly <see cref="WorkClass.Percent"/> times, interleaved (slot <c>index x 37 mod 100</c>, a permutation of each
    /// block), so the mix holds from the first hundred on and no class comes in one burst.
    /// </summary>
    public static WorkClass ClassOf(int index)
    {
        var slot = (int)((long)index * 37 % 100);
        foreach (var work in Classes)
        {
            if (slot < work.Percent)
                return work;
            slot -= work.Percent;
        }

        throw new InvalidOperationException("The classes' percentages add up to less than 100");
    }

    /// <summary>
    /// The <paramref name="index"/>-th request of a run; with <paramref name="routed"/> it carries the class's route hints,
    /// without them it runs the default chain as every request did before routing.
    /// </summary>
    public static CompletionRequested Request(string run, int index, bool routed)
    {
        var work = ClassOf(index);
        return new CompletionRequested(Guid.NewGuid(), $"bench-routing-{run}-{index}",
            [new ChatMessage(ChatRoles.System, work.System), new ChatMessage(ChatRoles.User, work.Prompt)],
            MaxOutputTokens: work.AnswerTokens,
            Metadata: new Dictionary<string, string> { ["bench"] = "routing", ["run"] = run, ["class"] = work.Name },
            Route: routed ? new RouteHints(work.Complexity, work.Quality) : null);
    }

    /// <summary>The reporting tier of a request by its class name (the tag the scenario gives it).</summary>
    public static string TierOf(string className) => Classes.First(c => c.Name == className).Tier;
}

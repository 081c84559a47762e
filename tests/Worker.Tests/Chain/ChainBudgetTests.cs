using Microsoft.Extensions.Logging.Abstractions;
using Worker.Audit;
using Worker.Budgets;
using Worker.Chain;
using Worker.Contracts;
using Worker.Providers;
using Worker.Tests.Fakes;
using static Worker.Tests.Fakes.ScriptedProvider;

namespace Worker.Tests.Chain;

/// <summary>The request's maxCostUsd and the tenant's daily budget, as the chain applies them before each call.</summary>
public class ChainBudgetTests
{
    private readonly DrivenTimeProvider _time = new();

    // "hi" is 1 prompt token; with maxOutputTokens 1000 the estimates are: pro 0.01000125, mini 0.00060015 USD.
    private static readonly PricingOptions Prices = new()
    {
        ["pro"] = new ModelPrice { InputPerMillion = 1.25m, OutputPerMillion = 10m },
        ["mini"] = new ModelPrice { InputPerMillion = 0.15m, OutputPerMillion = 0.60m },
    };

    private static ChainStep Step(int index, string provider, string model) =>
        new(index, provider, model, 0, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), 0, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(20));

    private static readonly ChainStep[] ProThenMini = [Step(0, "gemini", "pro"), Step(1, "openai", "mini")];

    private static CompletionRequested Request(double? maxCost = null, string? tenant = null) =>
        new(Guid.NewGuid(), null, [new ChatMessage("user", "hi")], MaxOutputTokens: 1000, Route: new RouteHints(MaxCostUsd: maxCost), Tenant: tenant);

    private Task<ChainOutcome> Run(CompletionRequested request, ITenantBudgets? tenants, params ScriptedProvider[] providers)
    {
        var runner = new ChainRunner(new FakeRegistry(providers), Guards.Breakers(_time), Guards.Budgets(_time), Guards.ChainRun(), _time,
            NullLogger<ChainRunner>.Instance, new FixedRandom(0.5), Guards.Costs(Prices), tenants);
        return _time.Drive(Task.Run(() => runner.RunAsync(request, ProThenMini, CancellationToken.None)));
    }

    [Fact]
    public async Task A_step_whose_estimate_passes_maxCostUsd_is_skipped_and_a_cheaper_one_answers()
    {
        var gemini = new ScriptedProvider("gemini", Ok());
        var openai = new ScriptedProvider("openai", Ok("cheap"));

        var outcome = await Run(Request(maxCost: 0.001), null, gemini, openai);

        Assert.True(outcome.Succeeded);
        Assert.Equal(0, gemini.Calls);
        Assert.StartsWith(ChainRunner.BudgetSkip + ": estimate 0.010001 USD", outcome.Attempts[0].Note);
        // The answer's 10 input and 5 output tokens at mini's price.
        Assert.Equal(10 * 0.15m / 1_000_000 + 5 * 0.60m / 1_000_000, outcome.TotalCostUsd);
    }

    [Fact]
    public async Task When_no_step_fits_the_request_fails_budget_exceeded_without_a_call()
    {
        var gemini = new ScriptedProvider("gemini", Ok());
        var openai = new ScriptedProvider("openai", Ok());

        var outcome = await Run(Request(maxCost: 0.0001), null, gemini, openai);

        Assert.Equal(FailureReasons.BudgetExceeded, outcome.FailureReason);
        Assert.Equal(0, outcome.CallCount);
        Assert.Contains("passes maxCostUsd 0.0001 USD", outcome.Error);
        Assert.All(outcome.Attempts, a => Assert.StartsWith(ChainRunner.BudgetSkip, a.Note));
    }

    [Fact]
    public async Task What_earlier_runs_spent_counts_against_the_cap()
    {
        // A resumed run that already spent 0.0095 USD: pro (0.0100) no longer fits a 0.0102 cap, mini (0.0006) does.
        var gemini = new ScriptedProvider("gemini", Ok());
        var openai = new ScriptedProvider("openai", Ok());
        var runner = new ChainRunner(new FakeRegistry(gemini, openai), Guards.Breakers(_time), Guards.Budgets(_time), Guards.ChainRun(), _time,
            NullLogger<ChainRunner>.Instance, new FixedRandom(0.5), Guards.Costs(Prices));
        var start = new ChainStart(0, 1, PriorCalls: 2, DeferralStartedAt: null) { PriorCostUsd = 0.0095m };

        var outcome = await _time.Drive(Task.Run(() => runner.RunAsync(Request(maxCost: 0.0102), ProThenMini, start, CancellationToken.None)));

        Assert.True(outcome.Succeeded);
        Assert.Equal((0, 1), (gemini.Calls, openai.Calls));
        Assert.Equal(0.0095m, outcome.PriorCostUsd);
        Assert.Equal(0.0095m + outcome.CostUsd, outcome.TotalCostUsd);
        Assert.True(outcome.CostUsd > 0);
    }

    [Fact]
    public async Task A_tenant_over_its_daily_budget_skips_the_step_and_settles_every_charge()
    {
        var tenants = new ScriptedBudgets(allow: model => model == 0.00060015m);
        var gemini = new ScriptedProvider("gemini", Ok());
        var openai = new ScriptedProvider("openai", Ok());

        var outcome = await Run(Request(tenant: "acme"), tenants, gemini, openai);

        Assert.True(outcome.Succeeded);
        Assert.Equal(0, gemini.Calls);
        Assert.Equal($"{ChainRunner.BudgetSkip}: tenant 'acme' has too little of its daily budget left", outcome.Attempts[0].Note);
        var settled = Assert.Single(tenants.Settled);
        Assert.Equal((0.00060015m, outcome.TotalCostUsd), (settled.Charge.EstimateUsd, settled.Actual));
    }

    [Fact]
    public async Task A_tenant_with_no_budget_left_gets_budget_exceeded()
    {
        var outcome = await Run(Request(tenant: "acme"), new ScriptedBudgets(allow: _ => false),
            new ScriptedProvider("gemini", Ok()), new ScriptedProvider("openai", Ok()));

        Assert.Equal(FailureReasons.BudgetExceeded, outcome.FailureReason);
        Assert.Equal(0, outcome.CallCount);
    }

    [Fact]
    public async Task A_failed_call_settles_its_charge_at_nothing()
    {
        var tenants = new ScriptedBudgets(allow: _ => true);

        var outcome = await Run(Request(tenant: "acme"), tenants, new ScriptedProvider("gemini", Fail(ErrorClass.Auth, 401)),
            new ScriptedProvider("openai", Ok()));

        Assert.True(outcome.Succeeded);
        Assert.Equal([0m, outcome.TotalCostUsd], tenants.Settled.Select(s => s.Actual));
    }

    /// <summary>A tenant budget that admits the estimates <c>allow</c> says yes to, and records every settlement.</summary>
    private sealed class ScriptedBudgets(Func<decimal, bool> allow) : ITenantBudgets
    {
        public List<(BudgetCharge Charge, decimal Actual)> Settled { get; } = [];

        public bool HasBudget(string? tenant) => tenant is not null;

        public Task<BudgetCharge?> TryChargeAsync(string tenant, decimal estimateUsd, CancellationToken cancellationToken) =>
            Task.FromResult(allow(estimateUsd) ? new BudgetCharge(tenant, new DateOnly(2026, 11, 30), estimateUsd) : null);

        public Task SettleAsync(BudgetCharge charge, decimal actualUsd, CancellationToken cancellationToken)
        {
            Settled.Add((charge, actualUsd));
            return Task.CompletedTask;
        }

        public Task<TenantBudgetStatus?> StatusAsync(string tenant, CancellationToken cancellationToken) => Task.FromResult<TenantBudgetStatus?>(null);
    }
}

using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Worker.Contracts;
using Worker.Hosting;
using Worker.IntegrationTests.Audit;
using Worker.IntegrationTests.Infrastructure;
using Worker.Simulator;

namespace Worker.IntegrationTests.Messaging;

/// <summary>
/// The bus watchdog: a bus that stays down while the broker answers is restarted, and the worker consumes again. (The
/// real trigger, a MassTransit 8.4 race during a broker restart, cannot be provoked on demand: a stopped bus stands in.)
/// </summary>
[Collection(BusWatchdogCollection.Name)]
public sealed class BusWatchdogTests : IAsyncLifetime
{
    private WebApplication _simulator = null!;
    private WebApplication _worker = null!;
    private TestProducer _producer = null!;

    public async Task InitializeAsync()
    {
        await AuditDatabase.MigrateAsync(TestEnvironment.Postgres);
        _simulator = SimulatorApp.Build(["--urls", "http://127.0.0.1:0"]);
        await _simulator.StartAsync();
        var settings = PipelineFixture.WorkerSettings(_simulator.GetBaseAddress());
        settings["Messaging:BusRecoveryAfter"] = "00:00:03";
        _worker = WorkerApp.Build(["--urls", "http://127.0.0.1:0"], builder => builder.Configuration.AddInMemoryCollection(settings));
        await _worker.StartAsync();
        await _worker.Services.GetRequiredService<IBusControl>().WaitForHealthStatus(BusHealthStatus.Healthy, TimeSpan.FromSeconds(30));
        _producer = await TestProducer.StartAsync("it-watchdog-results");
    }

    [Fact]
    public async Task A_bus_that_stays_down_while_the_broker_answers_is_restarted_and_consumes_again()
    {
        var bus = _worker.Services.GetRequiredService<IBusControl>();
        await bus.StopAsync();
        Assert.NotEqual(BusHealthStatus.Healthy, bus.CheckHealth().Status);

        await bus.WaitForHealthStatus(BusHealthStatus.Healthy, TimeSpan.FromSeconds(30));
        var answered = await _producer.RequestAsync<CompletionSucceeded>(TestProducer.NewRequest("after the watchdog"));

        Assert.Equal("gemini", answered.Provider);
    }

    public async Task DisposeAsync()
    {
        await _producer.DisposeAsync();
        await _worker.StopAsync();
        await _worker.DisposeAsync();
        await _simulator.StopAsync();
        await _simulator.DisposeAsync();
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class BusWatchdogCollection
{
    public const string Name = "bus-watchdog";
}

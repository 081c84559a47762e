using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Worker.Messaging;
using Worker.Tests.Fakes;

namespace Worker.Tests.Messaging;

/// <summary>Messaging knobs against each other and the host's shutdown.</summary>
public class MessagingOptionsTests
{
    private static IReadOnlyList<string> Problems(params (string Key, string? Value)[] changes) =>
        StartupChecks.Problems(StartupChecks.ValidWith(changes), (services, configuration) => services.AddMessaging(configuration));

    private static ServiceProvider Services(params (string Key, string? Value)[] changes)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(StartupChecks.ValidWith(changes)).Build();
        return new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddLogging().AddMessaging(configuration).BuildServiceProvider();
    }

    private static object? Argument(MessagingOptions options, string key) =>
        RequestQueue.Arguments(options) is { } arguments && arguments.TryGetValue(key, out var value) ? value : null;

    [Fact]
    public void The_defaults_start() => Assert.Empty(Problems());

    [Theory]
    [InlineData(null, "10000")]
    [InlineData("Maximum Pool Size=10", "2000")]
    [InlineData("Pooling=false", "10000")]
    public void Any_concurrency_limit_starts_whatever_the_database_pool(string? pool, string concurrency) =>
        // The pool is not the bound: the database gate and group commits keep connections within it (DatabaseGateTests).
        Assert.Empty(Problems(
            ("ConnectionStrings:Postgres", $"Host=localhost;Database=llm_worker;Username=worker;Password=worker;{pool}"),
            ("Messaging:ConcurrencyLimit", concurrency),
            ("Messaging:PrefetchCount", concurrency)));

    [Theory]
    [InlineData("Messaging:StopTimeout", "30", "Messaging:StopTimeout must be between 00:00:01 and 01:00:00, was 30.00:00:00: a bare number is read as days, did you mean 00:00:30? (env Messaging__StopTimeout)")]
    [InlineData("Messaging:ConcurrencyLimit", "0", "Messaging:ConcurrencyLimit must be between 1 and 10000, was 0 (env Messaging__ConcurrencyLimit)")]
    public void A_bad_value_is_refused_naming_the_key(string key, string value, string expected) =>
        Assert.Equal(expected, Assert.Single(Problems((key, value))));

    [Theory]
    [InlineData(null, 90)]
    [InlineData("00:00:05", 35)]
    [InlineData("00:10:00", 630)]
    public void The_host_waits_for_the_stop_timeout_plus_the_bus_and_the_other_services(string? stopTimeout, int hostSeconds)
    {
        using var services = Services(("Messaging:StopTimeout", stopTimeout));
        var stop = services.GetRequiredService<IOptions<MessagingOptions>>().Value.StopTimeout;

        Assert.Equal(TimeSpan.FromSeconds(hostSeconds), services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout);
        var bus = services.GetRequiredService<IOptions<MassTransitHostOptions>>().Value;
        Assert.Equal(stop, bus.ConsumerStopTimeout);
        Assert.True(bus.StopTimeout > stop && bus.StopTimeout < TimeSpan.FromSeconds(hostSeconds));
    }

    [Fact]
    public void A_bad_stop_timeout_leaves_the_report_to_the_start_up_validation()
    {
        using var services = Services(("Messaging:StopTimeout", "30"));

        // Read while the host is built, before the validation that reports every problem at once: it must not throw.
        Assert.Null(Record.Exception(() => services.GetRequiredService<IOptions<HostOptions>>().Value));
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("classic", false)]
    [InlineData("quorum", true)]
    [InlineData("Quorum", true)]
    public void Classic_and_quorum_queue_types_start(string? type, bool quorum)
    {
        Assert.Empty(Problems(("Messaging:QueueType", type)));
        using var services = Services(("Messaging:QueueType", type));
        var options = services.GetRequiredService<IOptions<MessagingOptions>>().Value;

        Assert.Equal(quorum, options.IsQuorum);
        // Both queues have arguments (quorum; x-max-priority), which a send to queue: would declare away: through the exchange.
        Assert.Equal("exchange:completion-requests", RequestQueue.SendAddress(options).ToString());
        Assert.Equal(quorum ? "quorum" : null, Argument(options, "x-queue-type"));
    }

    [Theory]
    [InlineData("classic", null, 9)]
    [InlineData("classic", "3", 3)]
    [InlineData("classic", "0", 0)]
    [InlineData("quorum", null, 0)]
    [InlineData("quorum", "0", 0)]
    public void A_classic_queue_has_priorities_unless_turned_off_and_a_quorum_queue_has_none(string type, string? maxPriority, int declared)
    {
        Assert.Empty(Problems(("Messaging:QueueType", type), ("Messaging:MaxPriority", maxPriority)));
        using var services = Services(("Messaging:QueueType", type), ("Messaging:MaxPriority", maxPriority));
        var options = services.GetRequiredService<IOptions<MessagingOptions>>().Value;

        Assert.Equal(declared, options.EffectiveMaxPriority);
        // An int, as the endpoint declares it: RabbitMQ compares the argument's type as well as its value.
        Assert.Equal(declared > 0 ? declared : null, Argument(options, "x-max-priority"));
        Assert.Equal(type == "classic" && declared == 0 ? "queue:completion-requests" : "exchange:completion-requests", RequestQueue.SendAddress(options).ToString());
    }

    [Fact]
    public void Priorities_on_a_quorum_queue_are_refused_naming_the_key_and_the_trade_off()
    {
        var problem = Assert.Single(Problems(("Messaging:QueueType", "quorum"), ("Messaging:MaxPriority", "9")));

        Assert.StartsWith("Messaging:MaxPriority is 9, but Messaging:QueueType is quorum: quorum queues have no message priorities on RabbitMQ 3.x", problem);
        Assert.EndsWith("(env Messaging__MaxPriority)", problem);
    }

    [Fact]
    public void A_max_priority_above_9_is_refused_naming_the_key() =>
        Assert.Equal("Messaging:MaxPriority must be between 0 and 9, was 10 (env Messaging__MaxPriority)",
            Assert.Single(Problems(("Messaging:MaxPriority", "10"))));

    [Fact]
    public void A_queue_declared_before_priorities_is_refused_saying_how_to_keep_it_or_recreate_it()
    {
        var problem = RequestQueue.Mismatch("completion-requests", new MessagingOptions(), RabbitMqAddress.Parse("amqp://guest:guest@localhost:5672/"),
            "PRECONDITION_FAILED - inequivalent arg 'x-max-priority' for queue 'completion-requests' in vhost '/': received the value '9' of type 'signedint' but current is none");

        Assert.Contains("This worker declares it as a classic queue with x-max-priority 9 (Messaging:MaxPriority)", problem);
        Assert.Contains("delete 'completion-requests', 'completion-requests_error' and 'completion-requests_skipped'", problem);
        Assert.Contains("(env Messaging__MaxPriority) to what the queue has (a classic queue declared before priorities existed: MaxPriority=0)", problem);
    }

    [Theory]
    [InlineData("stream")]
    [InlineData("quorom")]
    [InlineData("")]
    public void Another_queue_type_is_refused_naming_the_key_and_the_choices(string type) =>
        Assert.Equal($"Messaging:QueueType must be classic or quorum, was '{type}' (env Messaging__QueueType)",
            Assert.Single(Problems(("Messaging:QueueType", type))));

    [Fact]
    public void No_quorum_queue_is_given_a_delivery_limit()
    {
        // On RabbitMQ 3.x x-delivery-limit=-1 drops a message at its first redelivery, and any limit without a dead-letter target drops.
        var arguments = RequestQueue.Arguments(new MessagingOptions { QueueType = "quorum" });

        Assert.Equal(["x-queue-type"], arguments!.Keys);
    }

    [Fact]
    public void A_queue_of_another_type_on_the_broker_is_refused_saying_what_ops_must_do()
    {
        var problem = RequestQueue.Mismatch("completion-requests", new MessagingOptions { QueueType = "quorum" },
            RabbitMqAddress.Parse("amqp://guest:guest@localhost:5672/"), "PRECONDITION_FAILED - inequivalent arg 'x-queue-type'");

        Assert.StartsWith("Messaging:QueueType is quorum, but the queue 'completion-requests' on amqp://guest@localhost:5672/ was declared", problem);
        Assert.Contains("delete 'completion-requests', 'completion-requests_error' and 'completion-requests_skipped'", problem);
        Assert.Contains("(env Messaging__QueueType)", problem);
    }
}

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Worker.Messaging;

namespace Worker.Tests.Hosting;

public class OptionProblemsTests
{
    [Theory]
    [InlineData(30, "did you mean 00:00:30?")]
    [InlineData(90, "did you mean 00:01:30?")]
    public void A_bare_number_read_as_days_is_pointed_out(int days, string hint)
    {
        var problems = new OptionProblems();
        problems.Duration("Messaging:StopTimeout", TimeSpan.FromDays(days), TimeSpan.FromSeconds(1), TimeSpan.FromHours(1));

        Assert.Equal($"Messaging:StopTimeout must be between 00:00:01 and 01:00:00, was {days}.00:00:00: a bare number is read as days, {hint} (env Messaging__StopTimeout)",
            Assert.Single(problems.All));
    }

    [Fact]
    public void A_duration_that_is_not_whole_days_gets_no_hint()
    {
        var problems = new OptionProblems();
        problems.Duration("Chain:MaxDeferral", TimeSpan.FromHours(25), TimeSpan.Zero, TimeSpan.FromDays(1), zeroIsOff: true);

        Assert.Equal("Chain:MaxDeferral must be 0 (off) or between 00:00:00 and 1.00:00:00, was 1.01:00:00 (env Chain__MaxDeferral)", Assert.Single(problems.All));
    }

    [Theory]
    [InlineData(0.05, "00:00:00.05")]
    [InlineData(30, "00:00:30")]
    [InlineData(86_400, "1.00:00:00")]
    public void Durations_are_shown_as_they_are_written(double seconds, string text) =>
        Assert.Equal(text, OptionProblems.Text(TimeSpan.FromSeconds(seconds)));

    [Fact]
    public void A_value_the_binder_cannot_convert_is_reported_plainly_with_its_key()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:RabbitMq"] = "amqp://guest:guest@localhost:5672/",
            ["Messaging:StopTimeout"] = "30s",
        }).Build();
        using var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddLogging().AddMessaging(configuration).BuildServiceProvider();

        var e = Record.Exception(() => services.GetRequiredService<IStartupValidator>().Validate());

        var problem = Assert.Single(ConfigurationProblems.Of(e!));
        Assert.Contains("'Messaging:StopTimeout'", problem);
        Assert.EndsWith("Durations are written 00:00:30 (30 s), 00:05:00 (5 min) or 1.00:00:00 (1 day).", problem);
    }

    [Fact]
    public void Anything_else_is_not_a_configuration_problem() =>
        Assert.Empty(ConfigurationProblems.Of(new InvalidOperationException("Sequence contains no elements")));
}

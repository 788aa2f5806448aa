"""The words and names the generated conversations are made of: plain data, no behaviour.

:mod:`convhub.simulators.generate` builds ElevenLabs conversation bodies from
these tables (which scenario, which line, which company, which customer); the
tables live apart so the generator reads as logic and the wording can be
changed without touching it. Lines are ``str.format_map`` templates over the
slots the generator fills in (``{customer}``, ``{amount}``, ``{order}``…).

The generated output depends on every entry and on their order: changing a
table changes the conversations a seed gives (``tests/simulators`` pins them).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Scenario:
    """One kind of customer-service conversation, as phrase tables.

    Lines are ``str.format_map`` templates over the conversation's slots
    (the slots ``generate`` fills in for each conversation). ``outbound_openers`` lets a scenario also be an
    outbound call (the agent speaks first about the topic).
    """

    key: str
    intent: str
    openers: tuple[str, ...]
    probes: tuple[str, ...]
    details: tuple[str, ...]
    holds: tuple[str, ...]
    lookup_tool: str
    found: tuple[str, ...]
    confirms: tuple[str, ...]
    action_tool: str
    action_share: float
    resolved: tuple[str, ...]
    unresolved: tuple[str, ...]
    fillers: tuple[tuple[str, str], ...]
    titles_ok: tuple[str, ...]
    titles_fail: tuple[str, ...]
    summaries_ok: tuple[str, ...]
    summaries_fail: tuple[str, ...]
    has_order_value: bool
    verifies_identity: bool
    outbound_openers: tuple[str, ...] = ()
    outbound_replies: tuple[str, ...] = ()


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        key="billing",
        intent="billing",
        openers=(
            "Hi, I was charged {amount} twice on my last bill and I'd like a refund for the duplicate.",
            "Hello, I'm looking at invoice {invoice} and the total of {amount} doesn't match what I was quoted.",
            "Hey, there's a charge of {amount} on my card ending {last4} that I don't recognise.",
            "Hi there, I need to update the card on file. The old one ending in {last4} has expired.",
            "Good morning. My {plan} went up to {amount} this month and nobody told me about a price increase.",
            "Hi, I think I was still billed for the {plan} after I downgraded. Can you check?",
        ),
        probes=(
            "I'm sorry about that. Could you confirm the email address on the account so I can pull it up?",
            "I can help with that. To verify the account, can I have the email you signed up with?",
            "Let me take a look. What's the email address associated with your account?",
            "Happy to check. Could you give me the last four digits of the card and the account email?",
        ),
        details=(
            "Sure, it's {email}.",
            "It should be {email}. The account is under {customer_full}.",
            "Yes, {email}, and the card ends in {last4}.",
            "My email is {email}.",
        ),
        holds=(
            "Thanks, {customer}. Give me a moment while I pull up your billing history.",
            "Got it. Let me look up that invoice for you.",
            "Thank you. I'm checking the charges on your account now.",
        ),
        lookup_tool="lookup_invoice",
        found=(
            "I can see invoice {invoice} for {amount}, charged on {date}.",
            "Okay, I have your account here. Invoice {invoice} shows {amount} for the {plan}.",
            "I found it: the {amount} charge on the card ending {last4} is for the {plan} renewal.",
        ),
        confirms=(
            "So can you refund it?",
            "Okay, what can you do about it?",
            "I'd like that fixed today if possible.",
        ),
        action_tool="issue_refund",
        action_share=0.7,
        resolved=(
            "I've issued a refund of {amount} to the card ending {last4}. You should see it within "
            "{refund_days} business days.",
            "I've applied a credit of {amount} to your account, so your next invoice will be adjusted.",
            "I've updated the payment method and retried the payment, so you're all set.",
            "I've reversed the duplicate charge. You'll get a confirmation email at {email} shortly.",
        ),
        unresolved=(
            "I'm not able to issue a refund for that charge myself, but I can escalate it to our billing team.",
            "Unfortunately the system won't let me change that invoice. A billing specialist will need to review it.",
            "I'm sorry, I can't see a duplicate charge on our side. It may be a pending authorisation from your bank.",
        ),
        fillers=(
            ("Will this affect my next payment?", "No, your next payment on {date} will be the normal amount."),
            ("Can I get a copy of the invoice by email?", "Of course, I've just sent invoice {invoice} to {email}."),
            (
                "Why did the price change in the first place?",
                "The {plan} price was updated last quarter and customers were notified by email, but I "
                "understand it was easy to miss.",
            ),
            (
                "Is there a cheaper plan I could switch to?",
                "Yes, the Basic plan is {price} a month and keeps everything except priority support.",
            ),
            ("Do I need to do anything with my bank?", "No, nothing on your side. The refund goes back automatically."),
            (
                "Can you make sure this doesn't happen again?",
                "I've added a note to your account so the billing team checks the next renewal.",
            ),
        ),
        titles_ok=("Duplicate charge refunded", "Billing question about invoice {invoice}", "Card on file updated"),
        titles_fail=("Disputed charge escalated", "Unexplained {amount} charge", "Billing dispute unresolved"),
        summaries_ok=(
            "{customer_full} called about a duplicate charge of {amount}. The agent verified the account, "
            "confirmed invoice {invoice} and issued a refund to the card ending {last4}.",
            "The customer questioned the {amount} charge for the {plan}. The agent explained the renewal and "
            "applied a credit to the account.",
        ),
        summaries_fail=(
            "{customer_full} disputed a {amount} charge on invoice {invoice}. The agent could not resolve it "
            "during the call and escalated the case to the billing team.",
            "The customer asked about an unrecognised {amount} charge. The agent found no matching transaction "
            "and the customer remained dissatisfied.",
        ),
        has_order_value=True,
        verifies_identity=True,
    ),
    Scenario(
        key="appointment",
        intent="appointment_booking",
        openers=(
            "Hi, I'd like to book a {service} for sometime next week if possible.",
            "Hello, I need to schedule a {service}. Do you have anything on {date}?",
            "Hi, I'm calling to reschedule my {service}, something came up at work.",
            "Hey, can I get an appointment for a {service}? Mornings work best for me.",
            "Hi, I'd like to see someone about a {service} at your {city} location.",
        ),
        probes=(
            "Of course. Can I have your full name, please?",
            "Sure. Have you visited us before, and what name is it under?",
            "I can help with that. What name should the appointment be under?",
        ),
        details=(
            "It's {customer_full}.",
            "Yes, I've been in before. It should be under {customer_full}.",
            "{customer_full}, and my email is {email}.",
        ),
        holds=(
            "Let me check what we have available.",
            "One moment, I'm looking at the calendar for {date}.",
            "Let me see which slots are open for a {service}.",
        ),
        lookup_tool="check_availability",
        found=(
            "I have {date} at {time}, or later that afternoon. Which would you prefer?",
            "The earliest opening is {date} at {time}. Would that work?",
            "We've just had a cancellation on {date} at {time}. Would you like it?",
        ),
        confirms=(
            "{time} on {date} works perfectly, please book it.",
            "Yes, let's do {date} at {time}.",
            "That's fine, go ahead.",
        ),
        action_tool="book_appointment",
        action_share=0.95,
        resolved=(
            "You're booked for a {service} on {date} at {time}. Your confirmation number is {confirmation}, "
            "and we'll text you a reminder the day before.",
            "All set! {date} at {time} for your {service}. I've emailed the details to {email}.",
            "Done. Your {service} is confirmed for {date} at {time} at our {city} office.",
        ),
        unresolved=(
            "I'm sorry, that slot was just taken and the next opening isn't until next month. I can put you "
            "on the waitlist.",
            "I'm afraid we don't offer a {service} at the {city} location. You'd need to book at another site.",
        ),
        fillers=(
            ("Do I need to bring anything?", "Just a photo ID and your insurance card if you have one."),
            ("How long will it take?", "A {service} usually takes about forty-five minutes."),
            ("Is there parking nearby?", "Yes, there's free parking behind the building at the {city} site."),
            (
                "What if I need to cancel?",
                "Just call us or reply to the reminder text at least 24 hours before and there's no fee.",
            ),
            ("Can my partner come along?", "Absolutely, there's plenty of room in the waiting area."),
            ("How much will it cost?", "The {service} is {price}, payable on the day."),
        ),
        titles_ok=("{service} booked for {date}", "Appointment scheduled", "Rescheduled {service}"),
        titles_fail=("No availability for {service}", "Appointment request not completed"),
        summaries_ok=(
            "{customer_full} booked a {service} for {date} at {time}. The agent checked availability, "
            "confirmed the slot and sent confirmation {confirmation} to {email}.",
            "The customer rescheduled their {service} to {date} at {time} at the {city} location.",
        ),
        summaries_fail=(
            "The customer wanted a {service} but no suitable slot was available; the agent offered the waitlist.",
            "{customer_full} asked for a {service} in {city}, which that location does not offer. "
            "No appointment was booked.",
        ),
        has_order_value=False,
        verifies_identity=False,
        outbound_openers=(
            "Hi {customer}, this is {agent} calling from {company}. It's time for your annual {service}. "
            "Would you like to book it now?",
            "Hello {customer}, {agent} here from {company}. I'm calling to confirm your {service} on {date}.",
        ),
        outbound_replies=(
            "Oh, hi. Yes, good timing actually. What do you have?",
            "Thanks for calling. Actually, I need to move it. What else is available?",
        ),
    ),
    Scenario(
        key="order_status",
        intent="order_status",
        openers=(
            "Hi, I ordered a {product} last week and it still hasn't arrived.",
            "Hello, can you tell me where my order {order} is? The tracking hasn't updated in days.",
            "Hi, I'm checking on order {order}. I was told it would be here by {date}.",
            "My {product} arrived damaged and I'd like to know what my options are.",
            "Hi, I received the wrong item. I ordered a {product} but got something else entirely.",
        ),
        probes=(
            "I'm sorry to hear that. Could you give me the order number?",
            "Let me look into it. Do you have the order number handy?",
            "Sure, can I have the order number or the email you ordered with?",
        ),
        details=(
            "Yes, it's {order}.",
            "The order number is {order}.",
            "I don't have it in front of me, but the email is {email}.",
            "It's {order}, placed under {customer_full}.",
        ),
        holds=(
            "Thanks, checking that order now.",
            "One moment while I track the parcel.",
            "Let me pull up order {order}.",
        ),
        lookup_tool="lookup_order",
        found=(
            "Your {product} left our warehouse on Monday and is with {carrier}. The latest estimate is {eta}.",
            "I see order {order} for {amount}. It was held at the {city} sorting centre but is now out for delivery.",
            "Order {order} shows as delivered yesterday, but I understand you haven't received it.",
        ),
        confirms=(
            "Can you send a replacement if it doesn't turn up?",
            "Okay, so what can you do about it?",
            "I really need it before the weekend.",
        ),
        action_tool="request_replacement",
        action_share=0.5,
        resolved=(
            "I've arranged a free replacement which ships today, and you'll get the tracking number by email.",
            "I've upgraded the delivery to express at no charge, so it should reach you by {eta}.",
            "I've set up a return label for the {product}, and a refund of {amount} will follow once it's scanned.",
        ),
        unresolved=(
            "Unfortunately I can't send a replacement until the carrier finishes its investigation, which takes "
            "up to five working days.",
            "I'm sorry, {carrier} hasn't given us an update either. I'll have to open a claim, which takes some time.",
        ),
        fillers=(
            (
                "Can I change the delivery address?",
                "Since it's already with {carrier} I can't change it, but you can redirect it using the tracking link.",
            ),
            (
                "Will I need to be home to sign for it?",
                "No signature is needed, the driver can leave it in a safe place.",
            ),
            (
                "Can I get the tracking number?",
                "Sure, it's been sent to {email} and it's also in your account under order {order}.",
            ),
            (
                "What time will it arrive?",
                "{carrier} usually delivers between 8 am and 6 pm, and you'll get a one-hour window that morning.",
            ),
            ("Do you deliver on Saturdays?", "In {city}, yes, Saturday delivery is available for most addresses."),
            (
                "Can I cancel the order instead?",
                "If it doesn't arrive by {eta} I can cancel it and refund the {amount} straight away.",
            ),
        ),
        titles_ok=("Delayed {product} order", "Replacement sent for order {order}", "Tracking update for {product}"),
        titles_fail=("Missing parcel for order {order}", "Damaged {product} claim opened"),
        summaries_ok=(
            "{customer_full} asked about order {order} for a {product}. The agent tracked the parcel with "
            "{carrier} and confirmed delivery by {eta}.",
            "The customer reported a problem with their {product}. The agent arranged a replacement for order "
            "{order} at no charge.",
        ),
        summaries_fail=(
            "{customer_full} reported that order {order} had not arrived. The agent opened a claim with "
            "{carrier} but could not offer a replacement yet.",
            "The customer's {product} arrived damaged. The agent could not process a refund during the call.",
        ),
        has_order_value=True,
        verifies_identity=True,
    ),
    Scenario(
        key="tech_support",
        intent="technical_support",
        openers=(
            "Hi, my {device} keeps dropping the connection every few minutes.",
            "Hello, I'm getting {symptom} on my {device} and I can't get past it.",
            "Hey, the {device} stopped working after last night's update.",
            "Hi, I can't log in to the app. It says my password is wrong but I just reset it.",
            "My internet has been really slow since Sunday. Can someone help?",
        ),
        probes=(
            "I'm sorry about the trouble. What have you tried so far?",
            "Let's get that sorted. When did it start, and have you tried restarting the {device}?",
            "Sure. Can you describe what you're seeing and when it started?",
        ),
        details=(
            "I restarted it twice and it's still showing {symptom}.",
            "It started on {date}, right after the update. Restarting didn't help.",
            "I've unplugged everything and plugged it back in, no change.",
        ),
        holds=(
            "Let me run a remote diagnostic on your {device}.",
            "I'm going to check the line from our side, one moment.",
            "Give me a second to look at the device logs.",
        ),
        lookup_tool="run_diagnostics",
        found=(
            "I can see the {device} is on an old firmware version, which explains the {symptom}.",
            "The diagnostic shows a lot of interference on the 2.4 GHz band in your area.",
            "There's a known issue in {city} that our engineers are already working on.",
        ),
        confirms=("Okay, what should I do?", "Can you fix it remotely?", "So how do we fix it?"),
        action_tool="create_support_ticket",
        action_share=0.6,
        resolved=(
            "I've pushed the latest firmware to your {device}. It will restart in about two minutes and the "
            "{symptom} should be gone.",
            "Try switching to the 5 GHz network, the one ending in 5G. That should stabilise the connection.",
            "I've opened ticket {ticket} and an engineer will visit on {date} between 8 and 12.",
        ),
        unresolved=(
            "Unfortunately this needs an engineer visit and the earliest I can offer is next week. I've logged "
            "ticket {ticket}.",
            "I wasn't able to fix it remotely. I'll escalate it to our second-line team under ticket {ticket}.",
        ),
        fillers=(
            ("Will I lose my settings?", "No, the update keeps your network name, password and parental controls."),
            ("Is this affecting other people?", "We've had a few reports from {city} today, so you're not alone."),
            (
                "Should I buy a new {device}?",
                "Not yet. The one you have is fully supported and should work fine after the fix.",
            ),
            (
                "Can I use my phone as a hotspot in the meantime?",
                "Yes, and if the outage lasts more than a day we'll credit your account.",
            ),
            (
                "How do I know it worked?",
                "The light on the front turns solid white and you'll get a text confirming the line test passed.",
            ),
            ("Do I need to be home for the engineer?", "Yes, someone over 18 needs to be there for the visit."),
        ),
        titles_ok=("{device} connection issue fixed", "Firmware update fixed {device}", "Engineer visit booked"),
        titles_fail=("{device} fault escalated", "Unresolved fault on {device}"),
        summaries_ok=(
            "{customer_full} reported {symptom} on their {device}. The agent ran remote diagnostics, found "
            "outdated firmware and pushed an update that resolved the issue.",
            "The customer had connection drops on their {device}. The agent identified Wi-Fi interference and "
            "moved them to the 5 GHz network.",
        ),
        summaries_fail=(
            "The customer's {device} showed {symptom}. Remote troubleshooting failed and the agent escalated "
            "the case under ticket {ticket}.",
            "{customer_full} reported slow internet in {city}. The agent confirmed a local fault but could not "
            "give a fix date.",
        ),
        has_order_value=False,
        verifies_identity=False,
    ),
    Scenario(
        key="cancellation",
        intent="cancellation",
        openers=(
            "Hi, I'd like to cancel my {plan}, please.",
            "Hello, I want to close my account. I'm {reason}.",
            "Hi, how do I cancel my subscription? I don't really use it anymore.",
            "I'm calling to cancel before the next renewal on {date}.",
            "I'd like to end my membership. I'm {reason}.",
        ),
        probes=(
            "I'm sorry to hear you want to leave. Can I have the account email to find your subscription?",
            "I can help with that. Could you confirm the email and the last four digits of the card on file?",
            "Of course. May I have the email on the account, and what's prompting the cancellation?",
        ),
        details=(
            "It's {email}.",
            "Sure, {email}, and the card ends in {last4}.",
            "It's {email}. Honestly, I'm {reason}.",
            "The account is under {customer_full}, {email}.",
        ),
        holds=(
            "Thanks, pulling up your subscription now.",
            "One moment, let me find your account.",
            "Let me check the details of your {plan}.",
        ),
        lookup_tool="lookup_account",
        found=(
            "I can see your {plan} at {amount} a month, renewing on {date}.",
            "You're on the {plan} and you've been with us for three years. Thank you for that.",
            "Your {plan} is paid until {date}.",
        ),
        confirms=(
            "Yes, please go ahead and cancel it.",
            "Is there any way to make it cheaper? Otherwise please cancel it.",
            "Please just cancel it, I've made up my mind.",
        ),
        action_tool="cancel_subscription",
        action_share=0.9,
        resolved=(
            "Done. Your {plan} is cancelled and you'll keep access until {date}. You won't be charged again.",
            "I've cancelled the subscription and sent a confirmation to {email}.",
            "I've applied the discount instead, so your {plan} will be {price} a month for the next three months.",
        ),
        unresolved=(
            "I'm afraid the contract has a minimum term until {date}, so I can't cancel it without an early "
            "termination fee of {amount}.",
            "I can't cancel this over the phone because the account holder's name doesn't match. The account "
            "holder will need to call us.",
        ),
        fillers=(
            (
                "Will I get a refund for this month?",
                "The current month isn't refundable, but you'll keep full access until {date}.",
            ),
            (
                "What happens to my data?",
                "Your data stays available for 30 days in case you change your mind, then it's deleted.",
            ),
            (
                "Can I come back later?",
                "Of course. You can reactivate any time with the same email, and within 30 days your history "
                "will still be there.",
            ),
            (
                "Are there any discounts you can offer?",
                "I can offer three months at half price, {price} a month, if you'd like to stay.",
            ),
            ("Do I need to return the equipment?", "Yes, we'll email a prepaid return label to {email}."),
            ("Is there a cancellation fee?", "No, there's no fee since you're past the minimum term."),
        ),
        titles_ok=("{plan} cancelled", "Subscription cancellation", "Retention offer accepted"),
        titles_fail=("Cancellation blocked by minimum term", "Cancellation request not completed"),
        summaries_ok=(
            "{customer_full} cancelled their {plan} because they are {reason}. The agent confirmed access "
            "until {date} and emailed a confirmation.",
            "The customer called to cancel the {plan}. The agent processed the cancellation effective {date}.",
        ),
        summaries_fail=(
            "The customer wanted to cancel the {plan}, but the minimum term runs until {date}; the agent "
            "explained the {amount} early termination fee.",
            "{customer_full} asked to cancel, but the caller was not the account holder, so nothing was changed.",
        ),
        has_order_value=False,
        verifies_identity=True,
    ),
    Scenario(
        key="sales_lead",
        intent="sales_inquiry",
        openers=(
            "Hi, I'm interested in your {plan} for my team of {team_size}. What does it cost?",
            "Hello, I saw your ad and wanted to know if you offer a free trial.",
            "Hi, we're looking to switch providers and I'd like a quote for {team_size} people.",
            "Hey, I'd like to book a demo of the {plan}.",
            "Hi, do you offer discounts for non-profits?",
        ),
        probes=(
            "Great! Tell me a bit about your team and what you need.",
            "Happy to help. What's the main problem you're hoping to solve?",
            "Sure. What are you using today, and what's missing?",
        ),
        details=(
            "We're {team_size}, mostly working remotely, and we use spreadsheets right now.",
            "We need better reporting and something that integrates with our CRM.",
            "Mainly the scheduling and the mobile app. The rest is nice to have.",
        ),
        holds=(
            "Let me pull up the pricing for a team of {team_size}.",
            "One second, I'll check which plan fits best.",
            "Let me check the current promotions for you.",
        ),
        lookup_tool="get_pricing",
        found=(
            "For {team_size} people the {plan} comes to {amount} a month, billed annually.",
            "The {plan} would fit best, at {price} per user per month, with a 14-day free trial.",
            "Right now there's a 20 percent discount on annual billing, which brings it to {amount} a month.",
        ),
        confirms=(
            "That sounds reasonable. What are the next steps?",
            "Could someone walk us through a demo?",
            "I'd need to run it past my manager first.",
        ),
        action_tool="schedule_demo",
        action_share=0.8,
        resolved=(
            "I've booked a demo with our solutions team on {date} at {time}, and the invite is on its way to {email}.",
            "I've set up your free trial. You'll get an email at {email} with the login link in a few minutes.",
            "I've sent a tailored quote of {amount} a month to {email}, valid for 30 days.",
        ),
        unresolved=(
            "Unfortunately the {plan} requires a minimum of 50 seats, so it wouldn't suit a team of {team_size} yet.",
            "I understand the budget isn't there right now. I'll send some information and check back next quarter.",
        ),
        fillers=(
            (
                "Does it integrate with Salesforce?",
                "Yes, there's a native Salesforce integration included in the {plan}.",
            ),
            ("Is there a contract?", "Monthly plans can be cancelled any time; annual plans get two months free."),
            (
                "How long does onboarding take?",
                "Most teams of {team_size} are up and running within a week, and onboarding is free.",
            ),
            (
                "Where is the data stored?",
                "Customers in the UK and EU are hosted in Frankfurt, everyone else in the US.",
            ),
            ("Do you have a mobile app?", "Yes, for iOS and Android, and it works offline too."),
            ("Can we add more users later?", "Of course, seats can be added at any time and are prorated."),
        ),
        titles_ok=("Demo booked for team of {team_size}", "Pricing enquiry for {plan}", "Free trial started"),
        titles_fail=("Lead not qualified", "Pricing enquiry without next step"),
        summaries_ok=(
            "{customer_full} enquired about the {plan} for a team of {team_size}. The agent quoted {amount} a "
            "month and booked a demo on {date} at {time}.",
            "The prospect asked about a free trial. The agent explained the {plan} and set up a trial for {email}.",
        ),
        summaries_fail=(
            "The prospect asked about pricing for {team_size} users, but the {plan} did not fit their size or "
            "budget; no next step was agreed.",
            "{customer_full} was comparing providers and was not ready to commit. The agent promised to follow "
            "up next quarter.",
        ),
        has_order_value=True,
        verifies_identity=False,
        outbound_openers=(
            "Hi {customer}, this is {agent} from {company}. You downloaded our pricing guide last week, and I "
            "wanted to see if you had any questions.",
            "Hello {customer}, {agent} here from {company}. I'm following up on the demo request you submitted "
            "on our website.",
        ),
        outbound_replies=(
            "Oh, hi. Yes, we're comparing a few options at the moment.",
            "Yes, thanks for calling back. We're a team of {team_size}.",
        ),
    ),
)

GREETINGS_VOICE = (
    "Thank you for calling {company}, this is {agent}. How can I help you today?",
    "Hi, you've reached {company}. My name is {agent}. What can I do for you?",
    "Hello and welcome to {company}! I'm {agent}, your virtual assistant. How may I help?",
    "Good day, {company} customer service, {agent} speaking.",
)
GREETINGS_TEXT = (
    "Hi! I'm {agent}, the {company} assistant. What can I help you with?",
    "Hello and welcome to {company}. I'm {agent}. How can I help?",
    "Hey there, {agent} from {company} here. What brings you in today?",
)
GENERIC_FILLERS = (
    ("Can I also update my phone number?", "Sure, I've updated the mobile number on your account."),
    ("Is my email still {email}?", "Yes, that's the email we have on file."),
    ("How long have I been a customer?", "Since 2019, so over five years now. Thank you for staying with us."),
    ("Will I get this in writing?", "Yes, a summary of today's conversation will be emailed to {email}."),
    (
        "Are you a real person?",
        "I'm {company}'s AI assistant, but I can transfer you to a colleague at any point if you'd prefer.",
    ),
    ("Do you have an app for this?", "Yes, the {company} app lets you do all of this yourself, any time."),
)
VOICE_FILLERS = (
    ("Sorry, my dog is barking, one second.", "No problem at all, take your time."),
    (
        "Sorry, could you repeat that?",
        "Of course. In short, everything is noted and you'll get a confirmation by email.",
    ),
    ("You're breaking up a little.", "Apologies, is this better? I'll speak a bit more slowly."),
)
THANKS = (
    "That's great, thank you so much for your help.",
    "Perfect, that's exactly what I needed. Thanks!",
    "Brilliant, thanks {agent}.",
    "Okay, thanks for sorting that out so quickly.",
)
COMPLAINTS = (
    "That's really not good enough. I've called about this before.",
    "Fine, but I expect someone to actually call me back.",
    "Okay... I guess I'll wait then.",
    "This is frustrating. Can I speak to a manager?",
)
ANYTHING_ELSE = (
    "Is there anything else I can help you with today?",
    "Anything else I can do for you?",
    "Can I help with anything else?",
)
NOTHING_ELSE = ("No, that's everything.", "No, that's all, thanks.", "Nope, I'm good.", "That's it for today.")
GOODBYES = (
    "Thanks for calling {company}, {customer}. Have a great day!",
    "You're welcome. Take care, and goodbye!",
    "Thank you for your patience today. Goodbye!",
)
GOODBYES_OUTBOUND = (
    "Thanks for your time, {customer}. Have a great day!",
    "Great talking to you, {customer}. Goodbye!",
)
GOODBYES_TEXT = (
    "Thanks for chatting with {company}, {customer}. Have a great day!",
    "Glad I could help. Take care!",
)
APOLOGIES = (
    "I understand, and I'm sorry we couldn't fix this today. I've noted everything so the team can follow up.",
    "I'm sorry for the trouble. I've flagged your case as a priority for a supervisor to review.",
    "I completely understand your frustration. Someone from the team will contact you within one business day.",
)
GOODBYES_FAIL = (
    "Again, I'm sorry for the inconvenience. Goodbye.",
    "Thank you for your patience, {customer}. Goodbye.",
)
TRANSFER_ASKS = (
    "Can I speak to a real person, please?",
    "I'd rather talk to someone on your team.",
    "Please put me through to a human.",
)
TRANSFER_LINES = (
    "Of course. I'm transferring you to a member of our team now, please hold.",
    "No problem, connecting you with a colleague who can help further.",
)
COMMENTS_OK = (
    "Very helpful, sorted my problem in a few minutes.",
    "Quick and friendly, thanks!",
    "Honestly better than waiting on hold for a person.",
    "Clear answers, no repeating myself.",
    "Great service as always.",
)
COMMENTS_FAIL = (
    "Didn't solve anything, I had to call back.",
    "The assistant kept misunderstanding me.",
    "Too slow and it couldn't do what I asked.",
    "I just wanted to talk to a human.",
    "Long wait and no resolution.",
)
ERRORS = (
    (408, "Call was not answered"),
    (486, "Callee is busy"),
    (500, "Internal error while processing the conversation"),
    (1011, "WebSocket closed unexpectedly"),
)
RATIONALES = {
    "issue_resolved": {
        "success": "The agent resolved the customer's request before the end of the call.",
        "failure": "The customer's request was not resolved during the call.",
        "unknown": "The call ended before it was clear whether the request was resolved.",
    },
    "polite_and_professional": {
        "success": "The agent stayed polite, patient and professional throughout.",
        "failure": "The agent interrupted the customer and did not acknowledge their frustration.",
        "unknown": "The conversation was too short to judge the agent's tone.",
    },
    "identity_verified": {
        "success": "The agent confirmed the account email before discussing account details.",
        "failure": "The agent discussed account details without verifying the caller.",
        "unknown": "No account details were discussed, so verification was not needed.",
    },
}

FIRST_NAMES = (
    "James", "Olivia", "Liam", "Emma", "Noah", "Ava", "Oliver", "Sophia", "Elijah", "Isabella", "Lucas",
    "Mia", "Mason", "Amelia", "Logan", "Harper", "Ethan", "Evelyn", "Aiden", "Abigail", "Jacob", "Emily",
    "Michael", "Ella", "Daniel", "Grace", "Henry", "Chloe", "Jack", "Lily", "Samuel", "Zoe", "David",
    "Nora", "Joseph", "Hannah", "Carter", "Aria", "Owen", "Layla", "Wyatt", "Riley", "Leo", "Scarlett",
    "Isaac", "Victoria", "Gabriel", "Priya", "Arjun", "Mei", "Hiroshi", "Fatima", "Omar", "Sofia", "Mateo",
    "Aisha", "Kwame", "Ingrid", "Tomasz", "Chiara",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee",
    "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen", "King",
    "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill", "Campbell", "Mitchell", "Roberts",
    "Patel", "Nguyen", "Kim", "Chen", "Okafor", "Kowalski", "Rossi", "Novak", "Haddad", "Sato", "Evans",
    "Hughes", "Edwards", "Price", "Murphy", "O'Brien", "Fischer", "Larsen", "Dubois", "Mensah",
)  # fmt: skip
AGENT_FIRST_NAMES = (
    "Maya", "Oliver", "Priya", "Lucas", "Amara", "Daniel", "Sofia", "Ethan", "Hana", "Noah", "Grace", "Mateo",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Company:
    """A business running agents: which scenarios its customers call about, in its own words.

    Services start with a consonant: templates say "a {service}".
    """

    name: str
    domain: str
    order_prefix: str
    scenarios: tuple[str, ...]  # Scenario.key, the first is the busiest
    plans: tuple[str, ...]
    services: tuple[str, ...] = ("consultation",)
    products: tuple[str, ...] = ("replacement part",)
    devices: tuple[str, ...] = ("account",)
    symptoms: tuple[str, ...] = ("an error message",)


NETWORK_SYMPTOMS = (
    "a blinking orange light", "a 'no signal' message", "constant buffering", "really slow speeds",
    "random restarts", "error code E-42",
)  # fmt: skip
COMPANIES = (
    Company(
        "Northwind Outfitters", "northwind.example", "NW", ("order_status", "billing", "cancellation"),
        plans=("Northwind Plus membership", "free-delivery pass"),
        products=(
            "pair of hiking boots", "winter jacket", "hiking backpack", "pair of running shoes", "tent",
            "sleeping bag", "rain shell", "pair of trekking poles",
        ),
    ),
    Company(
        "Brightline Dental", "brightline.example", "BD", ("appointment", "billing"),
        plans=("Dental membership plan", "Family dental plan"),
        services=("dental cleaning", "check-up", "teeth whitening consultation", "filling", "braces consultation"),
    ),
    Company(
        "Harbor Telecom", "harbortel.example", "HT", ("tech_support", "billing", "cancellation", "sales_lead"),
        plans=("Unlimited plan", "Family plan", "Business Mobile plan", "Starter plan"),
        devices=("router", "home phone", "set-top box", "mobile hotspot"),
        symptoms=NETWORK_SYMPTOMS,
    ),
    Company(
        "Acme Home Services", "acmehome.example", "AH", ("appointment", "billing", "sales_lead"),
        plans=("Home Care plan", "Boiler Cover plan"),
        services=("boiler service", "plumbing repair", "safety inspection", "drain clearance", "gutter cleaning"),
    ),
    Company(
        "Lumen Fitness", "lumenfit.example", "LF", ("cancellation", "billing", "appointment", "sales_lead"),
        plans=("Premium membership", "Off-peak membership", "Corporate Wellness plan"),
        services=("personal training session", "fitness assessment", "nutrition consultation"),
    ),
    Company(
        "Pioneer Insurance", "pioneer.example", "PI", ("billing", "cancellation", "appointment", "sales_lead"),
        plans=("home insurance policy", "car insurance policy", "Group Health plan"),
        services=("policy review", "claims consultation"),
    ),
    Company(
        "BlueSky Internet", "bluesky.example", "BS", ("tech_support", "billing", "order_status", "cancellation"),
        plans=("Fibre 500 plan", "Fibre 100 plan", "Gigabit plan"),
        products=("replacement router", "mesh Wi-Fi kit", "Wi-Fi extender"),
        devices=("router", "modem", "mesh Wi-Fi kit", "Wi-Fi extender"),
        symptoms=NETWORK_SYMPTOMS,
    ),
    Company(
        "Maple Auto Care", "mapleauto.example", "MA", ("appointment", "billing", "order_status"),
        plans=("Maintenance plan", "Tyre Protection plan"),
        services=("full service", "tyre replacement", "brake check", "wheel alignment"),
        products=("set of winter tyres", "roof rack", "pair of wiper blades"),
    ),
    Company(
        "Orbit Software", "orbitsoft.example", "OS", ("sales_lead", "billing", "cancellation", "tech_support"),
        plans=("Pro plan", "Business plan", "Enterprise plan"),
        devices=("desktop app", "mobile app", "admin dashboard"),
        symptoms=("a login loop", "sync failures", "error code E-42", "a blank screen after login"),
    ),
)  # fmt: skip

CARRIERS_US = ("UPS", "FedEx", "USPS")
CARRIERS_UK = ("Royal Mail", "DPD", "Evri")
CITIES_US = ("Austin", "Denver", "Chicago", "Seattle", "Boston", "Atlanta", "Phoenix", "Portland")
CITIES_UK = ("Leeds", "Manchester", "Bristol", "Glasgow", "Cardiff", "Brighton", "London", "York")
REASONS = (
    "moving abroad",
    "cutting back on expenses",
    "switching to another provider",
    "not using it enough",
    "unhappy with the service lately",
)
TEAM_SIZES = ("5 people", "12 people", "25 people", "40 people", "80 people", "150 people")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
DAYS = ("1st", "4th", "7th", "10th", "13th", "16th", "19th", "22nd", "25th", "28th")
DATES = tuple(f"{weekday} the {day}" for weekday in WEEKDAYS for day in DAYS) + tuple(
    f"next {weekday}" for weekday in WEEKDAYS
)
ETAS = ("tomorrow", "Thursday", "the end of the week", "Monday", "Friday at the latest", "the day after tomorrow")
TIMES = tuple(
    f"{h if h <= 12 else h - 12}:{m:02d} {'am' if h < 12 else 'pm'}" for h in range(8, 18) for m in (0, 15, 30, 45)
)
US_AREAS = (
    "212", "646", "415", "312", "617", "206", "512", "303", "404", "602",
    "503", "305", "702", "615", "919", "213", "718", "773", "202", "347",
)  # fmt: skip
UK_PREFIXES = ("+44207946", "+44113496", "+44161496")  # Ofcom drama ranges: <prefix>0xxx

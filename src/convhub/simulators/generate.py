"""Deterministic, realistic ElevenLabs conversation bodies.

Demo data, tests, benchmarks and the provider simulators all need ElevenLabs
``GET /v1/convai/conversations/{id}`` bodies that look like the real thing:
customer-service calls with varied wording (so full-text search has something
to find), tool calls with their results, analysis, feedback, phone metadata and
costs. Everything comes from ``random.Random`` seeded by ``(seed, index)``, so a
body depends only on its seed, its index and the generator's settings: the
first k bodies of ``n=1000`` are the bodies of ``n=k``, and any one can be
regenerated on its own (:func:`generate_elevenlabs_conversation`).

Phone numbers come from ranges reserved for fiction (US ``555-01xx``, UK Ofcom
drama ranges) and e-mail addresses and URLs use the reserved ``example``
domains, so demo data never points at a real person.

Speed matters (benchmarks ask for 10⁵ bodies): phrases are pre-built tables
filled with ``str.format_map`` and the hot path avoids per-item set-up beyond
one ``Random`` instance.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

__all__ = [
    "generate_audio_bytes",
    "generate_elevenlabs_agents",
    "generate_elevenlabs_conversation",
    "generate_elevenlabs_conversations",
]

DEFAULT_START = datetime(2025, 6, 1, tzinfo=UTC)
"""Where the time window begins when no ``start`` is given (fixed, so output is reproducible)."""

# ------------------------------------------------------------------ phrase tables


@dataclass(frozen=True, slots=True)
class _Scenario:
    """One kind of customer-service conversation, as phrase tables.

    Lines are ``str.format_map`` templates over the conversation's slots
    (see ``_slots``). ``outbound_openers`` lets a scenario also be an
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


_SCENARIOS: tuple[_Scenario, ...] = (
    _Scenario(
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
    _Scenario(
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
    _Scenario(
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
    _Scenario(
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
    _Scenario(
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
    _Scenario(
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

_GREETINGS_VOICE = (
    "Thank you for calling {company}, this is {agent}. How can I help you today?",
    "Hi, you've reached {company}. My name is {agent}. What can I do for you?",
    "Hello and welcome to {company}! I'm {agent}, your virtual assistant. How may I help?",
    "Good day, {company} customer service, {agent} speaking.",
)
_GREETINGS_TEXT = (
    "Hi! I'm {agent}, the {company} assistant. What can I help you with?",
    "Hello and welcome to {company}. I'm {agent}. How can I help?",
    "Hey there, {agent} from {company} here. What brings you in today?",
)
_GENERIC_FILLERS = (
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
_VOICE_FILLERS = (
    ("Sorry, my dog is barking, one second.", "No problem at all, take your time."),
    (
        "Sorry, could you repeat that?",
        "Of course. In short, everything is noted and you'll get a confirmation by email.",
    ),
    ("You're breaking up a little.", "Apologies, is this better? I'll speak a bit more slowly."),
)
_THANKS = (
    "That's great, thank you so much for your help.",
    "Perfect, that's exactly what I needed. Thanks!",
    "Brilliant, thanks {agent}.",
    "Okay, thanks for sorting that out so quickly.",
)
_COMPLAINTS = (
    "That's really not good enough. I've called about this before.",
    "Fine, but I expect someone to actually call me back.",
    "Okay... I guess I'll wait then.",
    "This is frustrating. Can I speak to a manager?",
)
_ANYTHING_ELSE = (
    "Is there anything else I can help you with today?",
    "Anything else I can do for you?",
    "Can I help with anything else?",
)
_NOTHING_ELSE = ("No, that's everything.", "No, that's all, thanks.", "Nope, I'm good.", "That's it for today.")
_GOODBYES = (
    "Thanks for calling {company}, {customer}. Have a great day!",
    "You're welcome. Take care, and goodbye!",
    "Thank you for your patience today. Goodbye!",
)
_GOODBYES_OUTBOUND = (
    "Thanks for your time, {customer}. Have a great day!",
    "Great talking to you, {customer}. Goodbye!",
)
_GOODBYES_TEXT = (
    "Thanks for chatting with {company}, {customer}. Have a great day!",
    "Glad I could help. Take care!",
)
_APOLOGIES = (
    "I understand, and I'm sorry we couldn't fix this today. I've noted everything so the team can follow up.",
    "I'm sorry for the trouble. I've flagged your case as a priority for a supervisor to review.",
    "I completely understand your frustration. Someone from the team will contact you within one business day.",
)
_GOODBYES_FAIL = (
    "Again, I'm sorry for the inconvenience. Goodbye.",
    "Thank you for your patience, {customer}. Goodbye.",
)
_TRANSFER_ASKS = (
    "Can I speak to a real person, please?",
    "I'd rather talk to someone on your team.",
    "Please put me through to a human.",
)
_TRANSFER_LINES = (
    "Of course. I'm transferring you to a member of our team now, please hold.",
    "No problem, connecting you with a colleague who can help further.",
)
_COMMENTS_OK = (
    "Very helpful, sorted my problem in a few minutes.",
    "Quick and friendly, thanks!",
    "Honestly better than waiting on hold for a person.",
    "Clear answers, no repeating myself.",
    "Great service as always.",
)
_COMMENTS_FAIL = (
    "Didn't solve anything, I had to call back.",
    "The assistant kept misunderstanding me.",
    "Too slow and it couldn't do what I asked.",
    "I just wanted to talk to a human.",
    "Long wait and no resolution.",
)
_ERRORS = (
    (408, "Call was not answered"),
    (486, "Callee is busy"),
    (500, "Internal error while processing the conversation"),
    (1011, "WebSocket closed unexpectedly"),
)
_RATIONALES = {
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

_FIRST_NAMES = (
    "James", "Olivia", "Liam", "Emma", "Noah", "Ava", "Oliver", "Sophia", "Elijah", "Isabella", "Lucas",
    "Mia", "Mason", "Amelia", "Logan", "Harper", "Ethan", "Evelyn", "Aiden", "Abigail", "Jacob", "Emily",
    "Michael", "Ella", "Daniel", "Grace", "Henry", "Chloe", "Jack", "Lily", "Samuel", "Zoe", "David",
    "Nora", "Joseph", "Hannah", "Carter", "Aria", "Owen", "Layla", "Wyatt", "Riley", "Leo", "Scarlett",
    "Isaac", "Victoria", "Gabriel", "Priya", "Arjun", "Mei", "Hiroshi", "Fatima", "Omar", "Sofia", "Mateo",
    "Aisha", "Kwame", "Ingrid", "Tomasz", "Chiara",
)  # fmt: skip
_LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee",
    "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen", "King",
    "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill", "Campbell", "Mitchell", "Roberts",
    "Patel", "Nguyen", "Kim", "Chen", "Okafor", "Kowalski", "Rossi", "Novak", "Haddad", "Sato", "Evans",
    "Hughes", "Edwards", "Price", "Murphy", "O'Brien", "Fischer", "Larsen", "Dubois", "Mensah",
)  # fmt: skip
_AGENT_FIRST_NAMES = (
    "Maya", "Oliver", "Priya", "Lucas", "Amara", "Daniel", "Sofia", "Ethan", "Hana", "Noah", "Grace", "Mateo",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Company:
    """A business running agents: which scenarios its customers call about, in its own words.

    Services start with a consonant: templates say "a {service}".
    """

    name: str
    domain: str
    order_prefix: str
    scenarios: tuple[str, ...]  # _Scenario.key, the first is the busiest
    plans: tuple[str, ...]
    services: tuple[str, ...] = ("consultation",)
    products: tuple[str, ...] = ("replacement part",)
    devices: tuple[str, ...] = ("account",)
    symptoms: tuple[str, ...] = ("an error message",)


_NETWORK_SYMPTOMS = (
    "a blinking orange light", "a 'no signal' message", "constant buffering", "really slow speeds",
    "random restarts", "error code E-42",
)  # fmt: skip
_COMPANIES = (
    _Company(
        "Northwind Outfitters", "northwind.example", "NW", ("order_status", "billing", "cancellation"),
        plans=("Northwind Plus membership", "free-delivery pass"),
        products=(
            "pair of hiking boots", "winter jacket", "hiking backpack", "pair of running shoes", "tent",
            "sleeping bag", "rain shell", "pair of trekking poles",
        ),
    ),
    _Company(
        "Brightline Dental", "brightline.example", "BD", ("appointment", "billing"),
        plans=("Dental membership plan", "Family dental plan"),
        services=("dental cleaning", "check-up", "teeth whitening consultation", "filling", "braces consultation"),
    ),
    _Company(
        "Harbor Telecom", "harbortel.example", "HT", ("tech_support", "billing", "cancellation", "sales_lead"),
        plans=("Unlimited plan", "Family plan", "Business Mobile plan", "Starter plan"),
        devices=("router", "home phone", "set-top box", "mobile hotspot"),
        symptoms=_NETWORK_SYMPTOMS,
    ),
    _Company(
        "Acme Home Services", "acmehome.example", "AH", ("appointment", "billing", "sales_lead"),
        plans=("Home Care plan", "Boiler Cover plan"),
        services=("boiler service", "plumbing repair", "safety inspection", "drain clearance", "gutter cleaning"),
    ),
    _Company(
        "Lumen Fitness", "lumenfit.example", "LF", ("cancellation", "billing", "appointment", "sales_lead"),
        plans=("Premium membership", "Off-peak membership", "Corporate Wellness plan"),
        services=("personal training session", "fitness assessment", "nutrition consultation"),
    ),
    _Company(
        "Pioneer Insurance", "pioneer.example", "PI", ("billing", "cancellation", "appointment", "sales_lead"),
        plans=("home insurance policy", "car insurance policy", "Group Health plan"),
        services=("policy review", "claims consultation"),
    ),
    _Company(
        "BlueSky Internet", "bluesky.example", "BS", ("tech_support", "billing", "order_status", "cancellation"),
        plans=("Fibre 500 plan", "Fibre 100 plan", "Gigabit plan"),
        products=("replacement router", "mesh Wi-Fi kit", "Wi-Fi extender"),
        devices=("router", "modem", "mesh Wi-Fi kit", "Wi-Fi extender"),
        symptoms=_NETWORK_SYMPTOMS,
    ),
    _Company(
        "Maple Auto Care", "mapleauto.example", "MA", ("appointment", "billing", "order_status"),
        plans=("Maintenance plan", "Tyre Protection plan"),
        services=("full service", "tyre replacement", "brake check", "wheel alignment"),
        products=("set of winter tyres", "roof rack", "pair of wiper blades"),
    ),
    _Company(
        "Orbit Software", "orbitsoft.example", "OS", ("sales_lead", "billing", "cancellation", "tech_support"),
        plans=("Pro plan", "Business plan", "Enterprise plan"),
        devices=("desktop app", "mobile app", "admin dashboard"),
        symptoms=("a login loop", "sync failures", "error code E-42", "a blank screen after login"),
    ),
)  # fmt: skip
_SCENARIOS_BY_KEY = {scenario.key: scenario for scenario in _SCENARIOS}
_LLMS = ("gemini-2.0-flash", "gpt-4o-mini", "claude-3-5-sonnet", "gemini-2.5-flash", "gpt-4.1-mini")
_LLM_PRICES = {  # USD per 10⁹ tokens (input, output): integers, so prices print without float noise
    "gemini-2.0-flash": (100, 400),
    "gpt-4o-mini": (150, 600),
    "claude-3-5-sonnet": (3000, 15000),
    "gemini-2.5-flash": (300, 2500),
    "gpt-4.1-mini": (400, 1600),
}
_TIERS = ("creator", "pro", "scale", "business")
_CARRIERS_US = ("UPS", "FedEx", "USPS")
_CARRIERS_UK = ("Royal Mail", "DPD", "Evri")
_CITIES_US = ("Austin", "Denver", "Chicago", "Seattle", "Boston", "Atlanta", "Phoenix", "Portland")
_CITIES_UK = ("Leeds", "Manchester", "Bristol", "Glasgow", "Cardiff", "Brighton", "London", "York")
_REASONS = (
    "moving abroad",
    "cutting back on expenses",
    "switching to another provider",
    "not using it enough",
    "unhappy with the service lately",
)
_TEAM_SIZES = ("5 people", "12 people", "25 people", "40 people", "80 people", "150 people")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


_DATES = tuple(f"{weekday} the {_ordinal(day)}" for weekday in _WEEKDAYS for day in range(1, 29, 3)) + tuple(
    f"next {weekday}" for weekday in _WEEKDAYS
)
_ETAS = ("tomorrow", "Thursday", "the end of the week", "Monday", "Friday at the latest", "the day after tomorrow")
_TIMES = tuple(
    f"{h if h <= 12 else h - 12}:{m:02d} {'am' if h < 12 else 'pm'}" for h in range(8, 18) for m in (0, 15, 30, 45)
)
_US_AREAS = (
    "212", "646", "415", "312", "617", "206", "512", "303", "404", "602",
    "503", "305", "702", "615", "919", "213", "718", "773", "202", "347",
)  # fmt: skip
_UK_PREFIXES = ("+44207946", "+44113496", "+44161496")  # Ofcom drama ranges: <prefix>0xxx
_US_CUSTOMERS = 100 * len(_US_AREAS)  # +1 <area> 555-01xx is reserved for fiction
_CUSTOMERS = _US_CUSTOMERS + 1000 * len(_UK_PREFIXES)
_HOURS_UTC = (13, 14, 14, 15, 15, 16, 16, 17, 17, 18, 18, 19, 20, 21, 22, 9, 10, 11, 12, 13, 15, 16, 23, 1)
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
# Cumulative shares: mostly finished calls, most of them successful, mostly phone.
_STATUS_SHARES = ((0.88, "done"), (0.93, "failed"), (0.96, "in-progress"), (0.98, "processing"), (1.0, "initiated"))
_OUTCOME_SHARES = ((0.68, "success"), (0.9, "failure"), (1.0, "unknown"))
_CHANNEL_SHARES = ((0.64, "phone"), (0.9, "web"), (0.97, "chat"), (1.0, "whatsapp"))


# (role, line template or None, tool the turn calls or None)
_Beat = tuple[str, str | None, str | None]

# ----------------------------------------------------------------------- agents


@dataclass(frozen=True, slots=True)
class _Agent:
    agent_id: str
    name: str
    first_name: str
    company: _Company
    llm: str
    agent_number: str
    escalation_number: str
    phone_number_id: str
    telephony: str  # "twilio" | "sip_trunking"
    tier: str
    scenarios: tuple[_Scenario, ...]
    scenario_weights: tuple[float, ...]  # cumulative, over scenarios


def _ulid(rng: random.Random, unix_ms: int) -> str:
    """A lower-case ULID from ``unix_ms`` and 80 bits of ``rng`` — the shape of ElevenLabs ids."""
    value = (unix_ms << 80) | rng.getrandbits(80)
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def _hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


@lru_cache(maxsize=32)
def _agents(seed: int, count: int) -> tuple[_Agent, ...]:
    rng = random.Random(f"convhub-agents/{seed}")
    created_ms = int(DEFAULT_START.timestamp() * 1000) - 90 * 86_400_000
    agents = []
    for k in range(count):
        company = _COMPANIES[(k + seed) % len(_COMPANIES)]
        first = _AGENT_FIRST_NAMES[(k * 5 + seed) % len(_AGENT_FIRST_NAMES)]
        area = _US_AREAS[(k * 7 + seed) % len(_US_AREAS)]
        line = (k * 3) % 90
        scenarios = tuple(_SCENARIOS_BY_KEY[key] for key in company.scenarios)
        cumulative, total = [], 0.0
        for i in range(len(scenarios)):
            total += 4.0 if i == 0 else 1.5 if i == 1 else 1.0  # the company's main business first
            cumulative.append(total)
        agents.append(
            _Agent(
                agent_id="agent_" + _ulid(rng, created_ms + k * 3_600_000),
                name=f"{first} ({company.name})",
                first_name=first,
                company=company,
                llm=_LLMS[k % len(_LLMS)],
                agent_number=f"+1{area}55501{line:02d}",
                escalation_number=f"+1{area}55501{line + 1:02d}",
                phone_number_id="phnum_" + _ulid(rng, created_ms),
                telephony="twilio" if k % 3 else "sip_trunking",
                tier=_TIERS[k % len(_TIERS)],
                scenarios=scenarios,
                scenario_weights=tuple(cumulative),
            )
        )
    return tuple(agents)


def generate_elevenlabs_agents(*, seed: int = 0, agents: int = 5) -> list[dict[str, Any]]:
    """The agents the generated conversations belong to: ``agent_id``, ``name`` and phone line."""
    if agents < 1:
        raise ValueError("agents must be at least 1")
    return [
        {"agent_id": a.agent_id, "name": a.name, "agent_number": a.agent_number, "llm": a.llm}
        for a in _agents(seed, agents)
    ]


# ------------------------------------------------------------------ generation


def generate_elevenlabs_conversations(
    n: int,
    *,
    seed: int = 0,
    agents: int = 5,
    turns: int = 20,
    start: datetime | None = None,
    span_days: int = 30,
) -> Iterator[dict[str, Any]]:
    """Yield ``n`` ElevenLabs conversation-detail bodies (``GetConversationResponseModel`` shape).

    ``seed`` fixes the output; ``agents`` is how many agents share the traffic;
    ``turns`` is the typical transcript length of a finished conversation (each
    varies around it; failed and unfinished ones are shorter); conversations
    start within ``span_days`` days after ``start`` (default :data:`DEFAULT_START`;
    naive datetimes are taken as UTC).
    """
    if n < 0:
        raise ValueError("n must not be negative")
    generator = _Generator(seed=seed, agents=agents, turns=turns, start=start, span_days=span_days)
    return map(generator.conversation, range(n))


def generate_elevenlabs_conversation(
    index: int,
    *,
    seed: int = 0,
    agents: int = 5,
    turns: int = 20,
    start: datetime | None = None,
    span_days: int = 30,
) -> dict[str, Any]:
    """The ``index``-th body :func:`generate_elevenlabs_conversations` yields for the same settings."""
    if index < 0:
        raise ValueError("index must not be negative")
    generator = _Generator(seed=seed, agents=agents, turns=turns, start=start, span_days=span_days)
    return generator.conversation(index)


class _Generator:
    """The settings and agents shared by every body of one run; ``conversation(i)`` builds body ``i``."""

    __slots__ = ("agent_weights", "agents", "seed", "span_secs", "start_unix", "turns")

    def __init__(self, *, seed: int, agents: int, turns: int, start: datetime | None, span_days: int) -> None:
        if agents < 1:
            raise ValueError("agents must be at least 1")
        if turns < 0:
            raise ValueError("turns must not be negative")
        if span_days < 0:
            raise ValueError("span_days must not be negative")
        start = DEFAULT_START if start is None else start
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        self.seed = seed
        self.agents = _agents(seed, agents)
        # Some agents are busier than others.
        total, cumulative = 0.0, []
        for k in range(agents):
            total += 1.0 / (1 + k % 7) ** 0.5
            cumulative.append(total)
        self.agent_weights = tuple(cumulative)
        self.turns = turns
        self.start_unix = int(start.timestamp())
        self.span_secs = span_days * 86_400

    def conversation(self, index: int) -> dict[str, Any]:
        rng = random.Random(f"convhub-el/{self.seed}/{index}")
        return _Conversation(self, rng).body()


def _pick(rng: random.Random, options: tuple[str, ...]) -> str:
    return options[int(rng.random() * len(options))]


def _customer(k: int) -> tuple[str, str, str, bool]:
    """(first name, last name, E.164 number, is_uk) of customer ``k``: stable across conversations."""
    first = _FIRST_NAMES[k % len(_FIRST_NAMES)]
    last = _LAST_NAMES[(k // len(_FIRST_NAMES) + k * 7) % len(_LAST_NAMES)]
    if k < _US_CUSTOMERS:
        return first, last, f"+1{_US_AREAS[k // 100]}55501{k % 100:02d}", False
    j = k - _US_CUSTOMERS
    return first, last, f"{_UK_PREFIXES[j // 1000]}0{j % 1000:03d}", True


class _Conversation:
    """Builds one body; an object only so the many small steps share state cheaply."""

    def __init__(self, generator: _Generator, rng: random.Random) -> None:
        self.g = generator
        self.rng = rng
        self.turns: list[dict[str, Any]] = []
        self.llm_nano_usd = 0  # LLM cost so far, in 10⁻⁹ USD
        self.likes_left = 0
        self.dislikes_left = 0
        self.slots: dict[str, Any] = {}

    # -- the body -----------------------------------------------------------------

    def body(self) -> dict[str, Any]:
        g, rng = self.g, self.rng
        r = rng.random
        agent = g.agents[_bisect(g.agent_weights, r() * g.agent_weights[-1])]
        scenario = agent.scenarios[_bisect(agent.scenario_weights, r() * agent.scenario_weights[-1])]

        start_unix = g.start_unix
        if g.span_secs:
            day = int(r() * (g.span_secs // 86_400 or 1))
            hour = _HOURS_UTC[int(r() * len(_HOURS_UTC))]
            start_unix += min(day * 86_400 + hour * 3_600 + int(r() * 3_600), g.span_secs - 1)
        conversation_id = "conv_" + _ulid(rng, start_unix * 1000 + int(r() * 1000))

        status = _share(_STATUS_SHARES, r())
        outcome = _share(_OUTCOME_SHARES, r())
        resolved = outcome == "success" or (outcome == "unknown" and r() < 0.5)
        channel = _share(_CHANNEL_SHARES, r())
        outbound = channel == "phone" and bool(scenario.outbound_openers) and r() < 0.45
        text = channel in ("chat", "whatsapp")

        customer = int(r() * _CUSTOMERS)
        first, last, number, is_uk = _customer(customer)
        user_id = f"cust_{customer:05d}" if r() < 0.4 else None
        self.slots = slots = self._slots(agent, first, last, is_uk)

        # transcript
        target = self._target_turns()
        transfer = not resolved and channel == "phone" and r() < 0.3
        end_call = resolved and not text and r() < 0.35
        scripted = self._script(scenario, resolved, outbound, text, transfer, end_call, target)
        if status in ("in-progress", "initiated") or (status == "failed" and scripted):
            scripted = scripted[: self._cut(status, len(scripted))]

        if status == "initiated":
            duration = 0
        elif status == "failed":
            duration = 10 + int(r() * 30)
        else:
            per_turn = (5 + r() * 17) * (2.5 if r() < 0.08 else 1.0)  # a few long, slow calls
            duration = max(10, min(900, int(len(scripted) * per_turn) + int(r() * 15)))

        # feedback, decided before the turns so per-turn thumbs can be placed
        feedback = self._feedback(status, outcome)
        self._turns_from_script(scripted, duration, text, agent)

        has_audio = status in ("done", "processing") and not text and r() < 0.93
        cost_credits = None if status in ("initiated", "in-progress") else int(duration * (6.5 + r() * 7))
        platform_micro_usd = int(duration * (80_000 + r() * 40_000) / 60)  # $0.08 to $0.12 a minute
        platform_price = platform_micro_usd / 1e6
        llm_price = self.llm_nano_usd / 1e9

        tools_used = {tool for _, _, tool in scripted}
        transferred = "transfer_to_number" in tools_used
        if transferred and status == "done":
            termination = "Call transferred to a human agent."
        elif "end_call" in tools_used and status == "done":
            termination = "end_call tool was called."
        elif status == "failed":
            termination = "Call failed."
        elif duration >= 900:
            termination = "Maximum call duration reached."
        elif outcome == "unknown" and r() < 0.5:
            termination = "Remote party hung up."
        else:
            termination = ""

        metadata: dict[str, Any] = {
            "start_time_unix_secs": start_unix,
            "accepted_time_unix_secs": start_unix + (1 if channel == "phone" else 0),
            "call_duration_secs": duration,
            "cost": cost_credits,
            "deletion_settings": {
                "deletion_time_unix_secs": None,
                "deleted_logs_at_time_unix_secs": None,
                "deleted_audio_at_time_unix_secs": None,
                "deleted_transcript_at_time_unix_secs": None,
                "delete_transcript_and_pii": False,
                "delete_audio": False,
            },
            "feedback": feedback,
            "authorization_method": "authorization_header" if channel == "phone" else "signed_url",
            "phone_call": None,
            "batch_call": None,
            "termination_reason": termination,
            "error": None,
            "warnings": [],
            "main_language": "en",
            "rag_usage": None,
            "text_only": text,
            "conversation_initiation_source": "unknown",
            "conversation_initiation_source_version": None,
            "timezone": "Europe/London" if is_uk else "America/New_York",
            "whatsapp": None,
        }
        if cost_credits is not None:
            llm_charge = int(llm_price * 10_000)
            metadata["charging"] = {
                "dev_discount": False,
                "is_burst": False,
                "tier": agent.tier,
                "llm_price": llm_price,
                "llm_charge": llm_charge,
                "call_charge": max(cost_credits - llm_charge, 0),
                "platform_price": platform_price,
                "free_minutes_consumed": 0.0,
                "free_llm_dollars_consumed": 0.0,
            }
            if r() < 0.75:  # older conversations predate fiat cost tracking
                metadata["cost_fiat"] = (self.llm_nano_usd + platform_micro_usd * 1000) / 1e9
        if status == "failed":
            code, reason = _ERRORS[int(r() * len(_ERRORS))]
            metadata["error"] = {"code": code, "reason": reason}

        source = "widget"
        if channel == "phone":
            source = "twilio" if agent.telephony == "twilio" else "sip_trunk"
            phone: dict[str, Any] = {
                "type": agent.telephony,
                "direction": "outbound" if outbound else "inbound",
                "phone_number_id": agent.phone_number_id,
                "agent_number": agent.agent_number,
                "external_number": number,
                "call_sid": "CA" + _hex(rng, 32),
            }
            if agent.telephony == "twilio":
                phone["stream_sid"] = "MZ" + _hex(rng, 32)
            metadata["phone_call"] = phone
            if outbound and r() < 0.5:
                metadata["batch_call"] = {
                    "batch_call_id": "btcal_" + _hex(rng, 24),
                    "batch_call_recipient_id": "btcrec_" + _hex(rng, 24),
                }
        elif channel == "whatsapp":
            source = "whatsapp"
            metadata["whatsapp"] = {
                "direction": "inbound",
                "whatsapp_phone_number_id": _hex(rng, 15),
                "whatsapp_user_id": number.lstrip("+"),
            }
        elif r() < 0.5:
            source = "react_sdk" if r() < 0.6 else "js_sdk"
        metadata["conversation_initiation_source"] = source

        dynamic_variables: dict[str, Any] = {
            "system__agent_id": agent.agent_id,
            "system__conversation_id": conversation_id,
            "system__time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start_unix)),
            "system__timezone": metadata["timezone"],
            "system__call_duration_secs": duration,
        }
        if channel == "phone":
            dynamic_variables["system__caller_id"] = agent.agent_number if outbound else number
            dynamic_variables["system__called_number"] = number if outbound else agent.agent_number
        if user_id is not None:
            dynamic_variables["customer_name"] = slots["customer_full"]

        return {
            "agent_id": agent.agent_id,
            "agent_name": agent.name,
            "conversation_id": conversation_id,
            "status": status,
            "user_id": user_id,
            "branch_id": None,
            "transcript": self.turns,
            "metadata": metadata,
            "analysis": self._analysis(scenario, status, outcome, resolved, transferred),
            "conversation_initiation_client_data": {
                "conversation_config_override": {"turn": None, "tts": None, "conversation": None, "agent": None},
                "custom_llm_extra_body": {},
                "user_id": user_id,
                "source_info": {"source": source, "version": None},
                "dynamic_variables": dynamic_variables,
            },
            "has_audio": has_audio,
            "has_user_audio": has_audio,
            "has_response_audio": has_audio,
            "has_auxiliary_audio": False,
        }

    # -- pieces -------------------------------------------------------------------

    def _slots(self, agent: _Agent, first: str, last: str, is_uk: bool) -> dict[str, Any]:
        rng, r = self.rng, self.rng.random
        company = agent.company
        currency = "£" if is_uk else "$"
        amount = int(1200 + r() * 23_800) / 100
        domain = ("example.com", "example.org", "example.net")[int(r() * 3)]
        local = last.lower().replace("'", "")
        return {
            "agent": agent.first_name,
            "company": agent.company.name,
            "customer": first,
            "customer_full": f"{first} {last}",
            "email": f"{first.lower()}.{local}@{domain}",
            "order": f"{agent.company.order_prefix}-{100_000 + int(r() * 900_000)}",
            "amount": f"{currency}{amount:.2f}",
            "amount_value": amount,
            "currency": "GBP" if is_uk else "USD",
            "price": f"{currency}{(9, 12, 15, 19, 25, 29, 39)[int(r() * 7)]}",
            "product": _pick(rng, company.products),
            "plan": _pick(rng, company.plans),
            "date": _pick(rng, _DATES),
            "time": _pick(rng, _TIMES),
            "service": _pick(rng, company.services),
            "device": _pick(rng, company.devices),
            "symptom": _pick(rng, company.symptoms),
            "carrier": _pick(rng, _CARRIERS_UK if is_uk else _CARRIERS_US),
            "eta": _pick(rng, _ETAS),
            "city": _pick(rng, _CITIES_UK if is_uk else _CITIES_US),
            "reason": _pick(rng, _REASONS),
            "team_size": _pick(rng, _TEAM_SIZES),
            "ticket": f"TK-{100_000 + int(r() * 900_000)}",
            "invoice": f"INV-{10_000 + int(r() * 90_000)}",
            "confirmation": f"APT-{100_000 + int(r() * 900_000)}",
            "last4": f"{int(r() * 10_000):04d}",
            "refund_days": ("three to five", "five to seven", "two")[int(r() * 3)],
        }

    def _target_turns(self) -> int:
        base = self.g.turns
        if base == 0:
            return 0
        return max(2, int(base * (0.6 + self.rng.random() * 0.8)))

    def _cut(self, status: str, length: int) -> int:
        r = self.rng.random
        if status == "initiated":
            return 1 if r() < 0.5 else 0
        if status == "failed":
            return min(length, int(r() * 3))
        return max(1, int(length * (0.25 + r() * 0.5)))

    def _script(
        self,
        scenario: _Scenario,
        resolved: bool,
        outbound: bool,
        text: bool,
        transfer: bool,
        end_call: bool,
        target: int,
    ) -> list[_Beat]:
        """The conversation as (role, template, tool) beats, sized to about ``target`` turns.

        A beat with a tool is an agent turn that calls it; ``_turns_from_script``
        adds the turn carrying its result. The skeleton is greeting, request,
        look-up, answer, the customer's reply, outcome, goodbye; identity checks,
        the action tool, the wrap-up and small talk come in as the target allows.
        """
        rng, r = self.rng, self.rng.random
        if target == 0:
            return []
        opening: list[_Beat]
        if outbound:
            opening = [
                ("agent", _pick(rng, scenario.outbound_openers), None),
                ("user", _pick(rng, scenario.outbound_replies), None),
            ]
        else:
            greeting = _pick(rng, _GREETINGS_TEXT if text else _GREETINGS_VOICE)
            opening = [("agent", greeting, None), ("user", _pick(rng, scenario.openers), None)]
        verify: list[_Beat] = [
            ("agent", _pick(rng, scenario.probes), None),
            ("user", _pick(rng, scenario.details), None),
        ]
        lookup: list[_Beat] = [
            ("agent", _pick(rng, scenario.holds), scenario.lookup_tool),
            ("agent", _pick(rng, scenario.found), None),
            ("user", _pick(rng, scenario.confirms), None),
        ]
        action: list[_Beat] = [("agent", None, scenario.action_tool)] if resolved else []
        ending: list[_Beat]
        wrap: list[_Beat]
        goodbye: list[_Beat]
        if transfer:
            ending = [
                ("agent", _pick(rng, scenario.unresolved), None),
                ("user", _pick(rng, _TRANSFER_ASKS), None),
                ("agent", _pick(rng, _TRANSFER_LINES), "transfer_to_number"),
            ]
            wrap, goodbye = [], []
        elif resolved:
            ending = [
                ("agent", _pick(rng, scenario.resolved), None),
                ("user", _pick(rng, _THANKS), None),
            ]
            wrap = [("agent", _pick(rng, _ANYTHING_ELSE), None), ("user", _pick(rng, _NOTHING_ELSE), None)]
            farewells = _GOODBYES_TEXT if text else _GOODBYES_OUTBOUND if outbound else _GOODBYES
            goodbye = [("agent", _pick(rng, farewells), "end_call" if end_call else None)]
        else:
            ending = [
                ("agent", _pick(rng, scenario.unresolved), None),
                ("user", _pick(rng, _COMPLAINTS), None),
            ]
            wrap = [("agent", _pick(rng, _APOLOGIES), None)]
            goodbye = [("agent", _pick(rng, _GOODBYES_FAIL), None)]

        # Optional beats go in while the target allows; small talk fills what is left.
        budget = target - _size(opening) - _size(lookup) - _size(ending) - _size(goodbye)
        use_verify = not outbound and budget >= 2
        budget -= 2 if use_verify else 0
        use_action = bool(action) and budget >= 2 and r() < scenario.action_share
        budget -= 2 if use_action else 0
        use_wrap = len(wrap) <= budget
        budget -= len(wrap) if use_wrap else 0
        small_talk: list[_Beat] = []
        if budget >= 2:
            pool = scenario.fillers + _GENERIC_FILLERS + (() if text else _VOICE_FILLERS)
            wanted = budget // 2
            picks = rng.sample(range(len(pool)), min(wanted, len(pool)))
            picks += [int(r() * len(pool)) for _ in range(wanted - len(picks))]
            for i in picks:
                user_line, agent_line = pool[i]
                small_talk += [("user", user_line, None), ("agent", agent_line, None)]
        beats = (
            opening
            + (verify if use_verify else [])
            + lookup
            + (action if use_action else [])
            + ending[:1]
            + small_talk
            + ending[1:]
            + (wrap if use_wrap else [])
            + goodbye
        )
        if budget < 0:  # a very short target: a caller who hangs up early
            total = 0
            for cut, (_, _, tool) in enumerate(beats):
                total += 2 if tool and tool != "end_call" else 1
                if total > target:
                    return beats[:cut]
        return beats

    def _turns_from_script(
        self,
        script: list[_Beat],
        duration: int,
        text: bool,
        agent: _Agent,
    ) -> None:
        rng, r = self.rng, self.rng.random
        slots = self.slots
        count = _size(script)
        step = duration / count if count else 0.0
        medium = "text" if text else "audio"
        price_in, price_out = _LLM_PRICES[agent.llm]
        agent_meta = {"agent_id": agent.agent_id}
        agent_turns: list[dict[str, Any]] = []
        index = 0
        for role, template, tool in script:
            message = template.format_map(slots) if template is not None else None
            at = int(step * (index + r() * 0.5))
            index += 1
            if role == "user":
                self.turns.append(_user_turn(message, at, medium, interrupted=r() < 0.03))
                continue
            tokens_in = 800 + 140 * index + int(r() * 200)
            tokens_out = 15 + int(r() * 70)
            nano_in, nano_out = tokens_in * price_in, tokens_out * price_out
            self.llm_nano_usd += nano_in + nano_out
            usage = {
                agent.llm: {
                    "input": {"tokens": tokens_in, "price": nano_in / 1e9},
                    "output_total": {"tokens": tokens_out, "price": nano_out / 1e9},
                }
            }
            turn = _agent_turn(agent_meta, message, at, {"model_usage": usage})
            turn["interrupted"] = not text and r() < 0.05
            turn["conversation_turn_metrics"] = {
                "metrics": {
                    "convai_llm_service_ttfb": {"elapsed_time": int(200 + r() * 600) / 1000},
                    "convai_tts_service_ttfb": {"elapsed_time": int(100 + r() * 300) / 1000},
                }
            }
            self.turns.append(turn)
            if message is not None:
                agent_turns.append(turn)
            if tool is None:
                continue
            call, result = self._tool(tool, agent)
            turn["tool_calls"] = [call]
            if tool == "end_call":
                turn["tool_results"] = [result]
                continue
            at = int(step * (index + r() * 0.5))
            index += 1
            follow = _agent_turn(agent_meta, None, at, None)
            follow["tool_results"] = [result]
            self.turns.append(follow)

        # Per-turn thumbs match the conversation's like/dislike counts.
        scores = ["like"] * self.likes_left + ["dislike"] * self.dislikes_left
        if scores and agent_turns:
            for score, turn in zip(scores, rng.sample(agent_turns, min(len(scores), len(agent_turns))), strict=False):
                turn["feedback"] = {"score": score, "time_in_call_secs": turn["time_in_call_secs"]}

    def _tool(self, name: str, agent: _Agent) -> tuple[dict[str, Any], dict[str, Any]]:
        rng, r, s = self.rng, self.rng.random, self.slots
        request_id = f"{name}_{_hex(rng, 24)}"
        latency = int(150 + r() * 1400) / 1000
        if name in ("transfer_to_number", "end_call"):
            if name == "transfer_to_number":
                params: dict[str, Any] = {
                    "transfer_number": agent.escalation_number,
                    "reason": "Customer asked for a human.",
                }
                outcome: dict[str, Any] = {
                    "result_type": "transfer_to_number_twilio_success",
                    "status": "success",
                    "transfer_number": agent.escalation_number,
                    "reason": "Customer asked for a human.",
                    "client_message": "Transferring you now, please hold.",
                    "agent_message": f"Incoming transfer: {s['customer_full']}, unresolved request.",
                    "conference_name": "conf_" + _hex(rng, 16),
                    "note": None,
                }
            else:
                params = {"reason": "The customer's request was handled."}
                outcome = {
                    "result_type": "end_call_success",
                    "status": "success",
                    "reason": "The customer's request was handled.",
                    "message": None,
                }
            params_json = json.dumps(params)
            call = {
                "type": "system",
                "request_id": request_id,
                "tool_name": name,
                "params_as_json": params_json,
                "tool_has_been_called": True,
                "tool_details": None,
            }
            result = {
                "type": "system",
                "request_id": request_id,
                "tool_name": name,
                "result_value": json.dumps(outcome),
                "is_error": False,
                "tool_has_been_called": True,
                "tool_latency_secs": latency,
                "dynamic_variable_updates": [],
                "result": outcome,
            }
            return call, result

        params, value = _webhook_payloads(name, s)
        is_error = r() < 0.03
        if is_error:
            value = {"error": "Upstream service timed out", "status": 504}
        params_json = json.dumps(params)
        call = {
            "type": "webhook",
            "request_id": request_id,
            "tool_name": name,
            "params_as_json": params_json,
            "tool_has_been_called": True,
            "tool_details": {
                "type": "webhook",
                "method": "POST",
                "url": f"https://api.{agent.company.domain}/v1/{name.replace('_', '-')}",
                "headers": {"Content-Type": "application/json"},
                "path_params": {},
                "query_params": {},
                "body": params_json,
            },
        }
        result = {
            "type": "webhook",
            "request_id": request_id,
            "tool_name": name,
            "result_value": json.dumps(value),
            "is_error": is_error,
            "tool_has_been_called": True,
            "tool_latency_secs": latency,
            "dynamic_variable_updates": [],
        }
        return call, result

    def _feedback(self, status: str, outcome: str) -> dict[str, Any]:
        r = self.rng.random
        rating: int | None = None
        likes = dislikes = 0
        comment: str | None = None
        if status == "done":
            if r() < 0.35:
                good = outcome == "success" or (outcome == "unknown" and r() < 0.5)
                rating = (5, 5, 4, 4, 3)[int(r() * 5)] if good else (1, 1, 2, 2, 3)[int(r() * 5)]
            if r() < 0.2:
                if outcome == "success":
                    likes = 2 if r() < 0.15 else 1
                else:
                    dislikes = 2 if r() < 0.15 else 1
            if (rating is not None or likes or dislikes) and r() < 0.4:
                positive = (rating or 3) >= 4 or likes > 0
                comment = _pick(self.rng, _COMMENTS_OK if positive else _COMMENTS_FAIL)
        self.likes_left, self.dislikes_left = likes, dislikes
        return {
            "type": "rating" if rating is not None else "thumbs" if likes or dislikes else None,
            "overall_score": "like" if likes > dislikes else "dislike" if dislikes else None,
            "likes": likes,
            "dislikes": dislikes,
            "rating": rating,
            "comment": comment,
        }

    def _analysis(
        self, scenario: _Scenario, status: str, outcome: str, resolved: bool, transfer: bool
    ) -> dict[str, Any] | None:
        if status in ("initiated", "in-progress", "processing"):
            return None
        rng, r, s = self.rng, self.rng.random, self.slots
        if status == "failed":
            outcome = "failure" if r() < 0.7 else "unknown"
        ok = outcome == "success"
        polite = "success" if r() < 0.93 else "failure"
        criteria = {
            "issue_resolved": outcome,
            "polite_and_professional": polite if status == "done" else "unknown",
            "identity_verified": (
                ("success" if r() < 0.9 else "failure")
                if scenario.verifies_identity and status == "done"
                else "unknown"
            ),
        }
        evaluation = {
            cid: {"criteria_id": cid, "result": result, "rationale": _RATIONALES[cid][result]}
            for cid, result in criteria.items()
        }
        order_value = s["amount_value"] if scenario.has_order_value and status == "done" else None
        wants_callback = (not ok and r() < 0.6) or (scenario.key == "sales_lead" and r() < 0.5)
        data = {
            "customer_intent": {
                "data_collection_id": "customer_intent",
                "value": scenario.intent,
                "json_schema": {"type": "string", "description": "Why the customer got in touch."},
                "rationale": f"The customer asked about {scenario.intent.replace('_', ' ')}.",
            },
            "order_value": {
                "data_collection_id": "order_value",
                "value": order_value,
                "json_schema": {"type": "number", "description": "Value of the order or charge discussed."},
                "rationale": (
                    f"The conversation mentioned {s['amount']}."
                    if order_value is not None
                    else "No order value came up in the conversation."
                ),
            },
            "wants_callback": {
                "data_collection_id": "wants_callback",
                "value": wants_callback,
                "json_schema": {"type": "boolean", "description": "Whether the customer asked to be called back."},
                "rationale": (
                    "The customer asked for a follow-up call."
                    if wants_callback
                    else "The customer did not ask to be contacted again."
                ),
            },
        }
        if status == "failed":
            summary = "The conversation ended before the customer's request could be handled."
            title = "Call failed"
        else:
            good = ok or (outcome == "unknown" and resolved)
            summary = _pick(rng, scenario.summaries_ok if good else scenario.summaries_fail).format_map(s)
            if transfer:
                summary += " The call was transferred to a human agent."
            title = _pick(rng, scenario.titles_ok if good else scenario.titles_fail).format_map(s)
            title = title[0].upper() + title[1:]
        return {
            "evaluation_criteria_results": evaluation,
            "data_collection_results": data,
            "call_successful": outcome,
            "transcript_summary": summary,
            "call_summary_title": title,
        }


def _webhook_payloads(name: str, s: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(request params, response body) of the scenario tools, filled from the slots."""
    if name == "lookup_invoice":
        return {"email": s["email"], "card_last4": s["last4"]}, {
            "invoice_id": s["invoice"],
            "amount": s["amount_value"],
            "currency": s["currency"],
            "status": "paid",
            "plan": s["plan"],
        }
    if name == "issue_refund":
        return {"invoice_id": s["invoice"], "amount": s["amount_value"]}, {
            "refund_id": "re_" + s["invoice"][4:] + s["last4"],
            "status": "pending",
        }
    if name == "check_availability":
        return {"service": s["service"], "date": s["date"], "location": s["city"]}, {
            "available_slots": [s["time"], "4:30 pm"],
        }
    if name == "book_appointment":
        return {"service": s["service"], "date": s["date"], "time": s["time"], "name": s["customer_full"]}, {
            "confirmation_number": s["confirmation"],
            "status": "booked",
        }
    if name == "lookup_order":
        return {"order_id": s["order"]}, {
            "order_id": s["order"],
            "item": s["product"],
            "total": s["amount_value"],
            "status": "in_transit",
            "carrier": s["carrier"],
            "eta": s["eta"],
        }
    if name == "request_replacement":
        return {"order_id": s["order"], "reason": "not received"}, {
            "replacement_order_id": s["order"] + "-R",
            "status": "created",
        }
    if name == "run_diagnostics":
        return {"device": s["device"], "symptom": s["symptom"]}, {
            "line_status": "degraded",
            "firmware": "outdated",
        }
    if name == "create_support_ticket":
        return {"device": s["device"], "issue": s["symptom"], "email": s["email"]}, {
            "ticket_id": s["ticket"],
            "priority": "normal",
        }
    if name == "lookup_account":
        return {"email": s["email"]}, {"plan": s["plan"], "monthly_price": s["amount_value"], "renews": s["date"]}
    if name == "cancel_subscription":
        return {"email": s["email"], "reason": s["reason"]}, {"status": "cancelled", "effective": s["date"]}
    if name == "get_pricing":
        return {"plan": s["plan"], "team_size": s["team_size"]}, {
            "monthly_total": s["amount_value"],
            "currency": s["currency"],
        }
    if name == "schedule_demo":
        return {"email": s["email"], "team_size": s["team_size"], "date": s["date"], "time": s["time"]}, {
            "meeting_id": "mtg_" + s["confirmation"][4:],
            "status": "scheduled",
        }
    raise ValueError(f"no payloads for tool {name!r}")


def _user_turn(message: str | None, at: int, medium: str, *, interrupted: bool) -> dict[str, Any]:
    return {
        "role": "user",
        "agent_metadata": None,
        "message": message,
        "multivoice_message": None,
        "tool_calls": [],
        "tool_results": [],
        "feedback": None,
        "llm_override": None,
        "time_in_call_secs": at,
        "conversation_turn_metrics": None,
        "rag_retrieval_info": None,
        "llm_usage": None,
        "interrupted": interrupted,
        "original_message": None,
        "source_medium": medium,
    }


def _agent_turn(
    agent_meta: dict[str, Any], message: str | None, at: int, llm_usage: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "role": "agent",
        "agent_metadata": dict(agent_meta),
        "message": message,
        "multivoice_message": None,
        "tool_calls": [],
        "tool_results": [],
        "feedback": None,
        "llm_override": None,
        "time_in_call_secs": at,
        "conversation_turn_metrics": None,
        "rag_retrieval_info": None,
        "llm_usage": llm_usage,
        "interrupted": False,
        "original_message": None,
        "source_medium": None,
    }


def _size(beats: Sequence[_Beat]) -> int:
    """Turns a script makes: a tool call (other than end_call) adds a turn for its result."""
    return sum(2 if tool and tool != "end_call" else 1 for _, _, tool in beats)


def _share(table: tuple[tuple[float, str], ...], roll: float) -> str:
    """The first value whose cumulative share exceeds ``roll`` (0 ≤ roll < 1)."""
    for bound, value in table:
        if roll < bound:
            return value
    return table[-1][1]


def _bisect(cumulative: tuple[float, ...], x: float) -> int:
    for i, bound in enumerate(cumulative):
        if x < bound:
            return i
    return len(cumulative) - 1


# ------------------------------------------------------------------------- audio

# One MPEG-1 Layer III frame: 32 kbit/s, 48 kHz, mono, no CRC, no padding.
# 144 * 32000 / 48000 = 96 bytes; 1152 samples = 24 ms. Zeroed side information
# means no coded audio, i.e. silence every decoder accepts.
_MP3_FRAME = bytes((0xFF, 0xFB, 0x14, 0xC4)) + bytes(92)
_MP3_FRAME_MS = 24


def generate_audio_bytes(conversation_id: str, seconds: int = 2) -> bytes:
    """A short, silent, valid MP3 for ``conversation_id``: an ID3v2.3 tag naming it, then frames.

    Deterministic: the same id and length always give the same bytes.
    """
    if seconds < 0:
        raise ValueError("seconds must not be negative")
    title = conversation_id.encode("latin-1", errors="replace")
    frame_body = b"\x00" + title  # text encoding 0 = ISO-8859-1
    id3_frame = b"TIT2" + len(frame_body).to_bytes(4, "big") + b"\x00\x00" + frame_body
    size = len(id3_frame)
    syncsafe = bytes(((size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F))
    tag = b"ID3\x03\x00\x00" + syncsafe + id3_frame
    frames = max(1, -(-seconds * 1000 // _MP3_FRAME_MS))
    return tag + _MP3_FRAME * frames
